package core

import "fmt"

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
)

var typeNames = [...]string{
	TypeInvalid: "INVALID",
	TypeKeyReq:  "KEY_REQ",
	TypeKeyRep:  "KEY_REP",
	TypeData:    "DATA",
	TypeAck:     "ACK",
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

	// Payload is raw bytes; a codec that needs text (JSON) encodes it itself.
	Payload []byte
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
	return s + fmt.Sprintf(" payload=%dB", len(p.Payload))
}
