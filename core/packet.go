package core

import (
	"encoding/binary"
	"fmt"
)

// MaxDatagram is the largest datagram udpchat sends or reads. The seed's peers
// read 4096 bytes at a time, so nothing larger ever reaches them intact.
const MaxDatagram = 4096

// PacketType is the kind of a packet.
type PacketType uint8

// The packet types of protocol version 1, as the seed names them on the wire.
const (
	TypeInvalid PacketType = iota
	TypeKeyReq             // client → server: the client's public key material
	TypeKeyRep             // server → client: the session key, wrapped
	TypeData               // a sealed message
	TypeAck                // acknowledges the DATA with AckSeq

	// Protocol version 2 adds these, always sealed.
	TypePing // either way: keepalive (client), path challenge (server); answered with PONG
	TypePong // the answer to PING, echoing its seq and payload
	TypeBye  // either way: the session ends; the server answers BYE
	// TypeCookie is the answer of a server under load to a version 2 KEY_REQ
	// without a valid cookie: the client sends its KEY_REQ again with the
	// cookie, proving it receives at its address before the server spends
	// any work or state on it. Never sealed.
	TypeCookie
)

var typeNames = [...]string{
	TypeInvalid: "INVALID",
	TypeKeyReq:  "KEY_REQ",
	TypeKeyRep:  "KEY_REP",
	TypeData:    "DATA",
	TypeAck:     "ACK",
	TypePing:    "PING",
	TypePong:    "PONG",
	TypeBye:     "BYE",
	TypeCookie:  "COOKIE",
}

// String returns the wire name of t (KEY_REQ, DATA, …).
func (t PacketType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("PacketType(%d)", uint8(t))
}

// ParsePacketType maps a wire name to its PacketType.
func ParsePacketType(s string) (PacketType, bool) {
	for i, n := range typeNames {
		if i != int(TypeInvalid) && n == s {
			return PacketType(i), true
		}
	}
	return TypeInvalid, false
}

// Packet is one datagram, decoded: the header, which is never secret, and the
// payload, which the session's suite has sealed (or, for KEY_REQ and KEY_REP,
// the handshake material).
type Packet struct {
	Type PacketType

	// Seq numbers the DATA packets of one direction of a session. In protocol
	// version 1 only client-to-server DATA carries it.
	Seq    uint64
	HasSeq bool

	// AckSeq is the Seq an ACK acknowledges.
	AckSeq    uint64
	HasAckSeq bool
	// Cum, on a version 2 ACK, is the receiver's cumulative acknowledgement:
	// every Seq below it has arrived.
	Cum    uint64
	HasCum bool

	// Payload is raw bytes; a codec that needs text (JSON) encodes it itself.
	Payload []byte

	// Version is 2 on a version 2 KEY_REQ and KEY_REP, 0 elsewhere: later
	// packets of a session are known to be version 2 by their Session.
	Version uint8
	// Session is the version 2 session id the server assigned (KEY_REP) and
	// every later packet of the session carries; 0 in version 1.
	Session uint64

	// Version 2 handshake fields. KEY_REQ: Nick and Suites (the client's
	// offer, best first). KEY_REP: Suite (the choice), ServerKey (the
	// server's Ed25519 identity) and Sig (its signature of the handshake).
	Nick      string
	Suites    []string
	Suite     string
	ServerKey []byte
	Sig       []byte

	// Cookie is what a server under load hands out in a COOKIE packet, and
	// a version 2 KEY_REQ then echoes: a MAC of the client's address under
	// a secret only the server knows, so it is checked without state.
	Cookie []byte

	// Resume, on a version 2 KEY_REQ, is the client's claim to carry on a
	// session it lost: a Resume in its wire form (ResumeLen bytes), or
	// empty.
	Resume []byte

	// ClientKey and ClientSig, on a version 2 KEY_REQ, are the client's
	// own Ed25519 public key and its signature of the client's half of
	// the handshake (identity.HelloTranscript), or both empty for a client
	// without a key (an anonymous session, which cannot register a
	// nickname).
	ClientKey []byte
	ClientSig []byte
}

// ADLen is the length of the associated data AD returns.
const ADLen = 1 + 1 + 8 + 8 + 8 + 8

// AD returns the header as the bytes version 2 binds into every seal as
// associated data, whatever the codec: type, flags (which of seq, ack_seq and
// cum are present), session id, seq, ack_seq and cum, fixed width, big-endian. A
// payload sealed under one header does not open under another, so it cannot
// be replayed with another seq or type, nor moved to another session.
func (p *Packet) AD() []byte { return p.AppendAD(make([]byte, 0, ADLen)) }

// AppendAD appends the header's associated data (see AD) to dst, so that a
// hot path can reuse a buffer.
func (p *Packet) AppendAD(dst []byte) []byte {
	dst = append(dst, make([]byte, ADLen)...)
	b := dst[len(dst)-ADLen:]
	b[0] = byte(p.Type)
	if p.HasSeq {
		b[1] |= 1
	}
	if p.HasAckSeq {
		b[1] |= 2
	}
	if p.HasCum {
		b[1] |= 4
	}
	binary.BigEndian.PutUint64(b[2:], p.Session)
	binary.BigEndian.PutUint64(b[10:], p.Seq)
	binary.BigEndian.PutUint64(b[18:], p.AckSeq)
	binary.BigEndian.PutUint64(b[26:], p.Cum)
	return dst
}

// String summarises p for logs, without the payload.
func (p *Packet) String() string {
	s := p.Type.String()
	if p.HasSeq {
		s += fmt.Sprintf(" seq=%d", p.Seq)
	}
	if p.HasAckSeq {
		s += fmt.Sprintf(" ack_seq=%d", p.AckSeq)
	}
	if p.HasCum {
		s += fmt.Sprintf(" cum=%d", p.Cum)
	}
	if p.Session != 0 {
		s += fmt.Sprintf(" sid=%016x", p.Session)
	}
	return s + fmt.Sprintf(" payload=%dB", len(p.Payload))
}
