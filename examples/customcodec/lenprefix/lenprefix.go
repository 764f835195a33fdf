// Package lenprefix is an example codec registered from outside udpchat's
// tree: a compact binary encoding of core.Packet in which every field of
// variable length carries its length before it. examples/customcodec builds
// a udpchat-server that speaks it; docs/EXTENDING.md walks through it.
//
// # Packet
//
//	magic    1 byte, 0xB1: no JSON datagram (which starts with '{' or
//	         whitespace) nor protobuf one (0x08) starts with it, so an
//	         "auto" server can sniff it (Sniff)
//	type     1 byte, core.PacketType: KEY_REQ (1) to COOKIE (8)
//	flags    1 byte: 0x01 seq, 0x02 ack_seq, 0x04 cum, 0x08 session,
//	         0x10 handshake; the other bits are 0
//	seq      uvarint, if flagged; then ack_seq, then cum, likewise
//	session  8 bytes, big-endian, if flagged (never 0: 0 is no session)
//	handshake, if flagged (never all empty): version (1 byte), nick,
//	         suite count (uvarint) and each suite, suite, server_key, sig,
//	         cookie, resume (empty, or core.ResumeLen bytes), client_key,
//	         client_sig
//	payload  the last field, ending the datagram
//
// Strings and byte fields are a uvarint length then the bytes. Uvarints
// are encoding/binary's, and must be minimal.
//
// # Message
//
// A version 2 inner message (core.MessageCodec) is kind (1 byte, chat (0)
// to session (6)), flags (1 byte: 0x01 time), id (uvarint), from, to, time
// (uvarint Unix milliseconds, if flagged) and text, the last field.
//
// # Strictness
//
// Every encoding is the only one of its packet or message, so Decode
// refuses any other: an unknown type, kind or flag, a truncated field, a
// length beyond the datagram, a non-minimal uvarint, a flagged field that
// is empty, bytes after the last field. Names (nick, suite, from, to) are
// UTF-8 of at most core.MaxName bytes, suites at most core.MaxSuites, keys
// and cookies at most core.MaxKeyBytes: the bounds every codec holds to, so
// that each accepts the same packets. Append and AppendMessage refuse what
// Decode and DecodeMessage would. Nothing decoded aliases the datagram.
package lenprefix

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/udpchat/udpchat/core"
)

// Name is the name the codec is registered and configured under.
const Name = "lenprefix"

// Codec is the lenprefix codec. The zero value is ready to use; it holds no
// state, so it is safe for concurrent use.
type Codec struct{}

var (
	_ core.Codec        = Codec{}
	_ core.MessageCodec = Codec{}
	_ core.Sniffer      = Codec{}
)

func init() {
	core.Codecs.Register(Name, Codec{})
}

// magic is the first byte of every packet.
const magic = 0xB1

// The packet flags.
const (
	flagSeq = 1 << iota
	flagAckSeq
	flagCum
	flagSession
	flagHandshake
	packetFlags = flagSeq | flagAckSeq | flagCum | flagSession | flagHandshake
)

// Name returns "lenprefix".
func (Codec) Name() string { return Name }

// Sniff reports whether a datagram is one of ours: it starts with magic.
func (Codec) Sniff(b []byte) bool { return len(b) > 0 && b[0] == magic }

// Append appends the encoding of p to dst. It refuses, returning dst
// unchanged, a packet that Decode would refuse.
func (Codec) Append(dst []byte, p *core.Packet) ([]byte, error) {
	if p == nil {
		return dst, errors.New("lenprefix: cannot encode a nil packet")
	}
	if err := checkPacket(p); err != nil {
		return dst, fmt.Errorf("lenprefix: cannot encode: %w", err)
	}
	var flags byte
	if p.HasSeq {
		flags |= flagSeq
	}
	if p.HasAckSeq {
		flags |= flagAckSeq
	}
	if p.HasCum {
		flags |= flagCum
	}
	if p.Session != 0 {
		flags |= flagSession
	}
	if hasHandshake(p) {
		flags |= flagHandshake
	}
	dst = append(dst, magic, byte(p.Type), flags)
	if p.HasSeq {
		dst = binary.AppendUvarint(dst, p.Seq)
	}
	if p.HasAckSeq {
		dst = binary.AppendUvarint(dst, p.AckSeq)
	}
	if p.HasCum {
		dst = binary.AppendUvarint(dst, p.Cum)
	}
	if p.Session != 0 {
		dst = binary.BigEndian.AppendUint64(dst, p.Session)
	}
	if flags&flagHandshake != 0 {
		dst = append(dst, p.Version)
		dst = appendField(dst, p.Nick)
		dst = binary.AppendUvarint(dst, uint64(len(p.Suites)))
		for _, s := range p.Suites {
			dst = appendField(dst, s)
		}
		dst = appendField(dst, p.Suite)
		dst = appendField(dst, p.ServerKey)
		dst = appendField(dst, p.Sig)
		dst = appendField(dst, p.Cookie)
		dst = appendField(dst, p.Resume)
		dst = appendField(dst, p.ClientKey)
		dst = appendField(dst, p.ClientSig)
	}
	return appendField(dst, p.Payload), nil
}

// hasHandshake reports whether p has any field of the handshake section.
func hasHandshake(p *core.Packet) bool {
	return p.Version != 0 || p.Nick != "" || len(p.Suites) != 0 || p.Suite != "" ||
		len(p.ServerKey) != 0 || len(p.Sig) != 0 || len(p.Cookie) != 0 || len(p.Resume) != 0 ||
		len(p.ClientKey) != 0 || len(p.ClientSig) != 0
}

// checkPacket says why Decode would refuse p, or returns nil.
func checkPacket(p *core.Packet) error {
	if p.Type < core.TypeKeyReq || p.Type > core.TypeCookie {
		return fmt.Errorf("unknown packet type %d", p.Type)
	}
	return core.CheckV2(p, fieldName)
}

// fieldName names a field in errors: suites[1].
func fieldName(field string, idx int) string {
	if idx >= 0 {
		return fmt.Sprintf("%s[%d]", field, idx)
	}
	return field
}

// Decode parses one datagram; see the package documentation for what it
// accepts. The packet owns its payload and strings: it never aliases b.
func (Codec) Decode(b []byte) (*core.Packet, error) {
	p, err := decodePacket(b)
	if err != nil {
		return nil, fmt.Errorf("lenprefix: datagram: %w", err)
	}
	return p, nil
}

func decodePacket(b []byte) (*core.Packet, error) {
	r := reader{b: b}
	if m := r.byte("magic"); r.err == nil && m != magic {
		return nil, fmt.Errorf("starts with 0x%02x, not 0x%02x", m, magic)
	}
	p := &core.Packet{Type: core.PacketType(r.byte("type"))}
	flags := r.byte("flags")
	if r.err != nil {
		return nil, r.err
	}
	if p.Type < core.TypeKeyReq || p.Type > core.TypeCookie {
		return nil, fmt.Errorf("unknown packet type %d", p.Type)
	}
	if flags&^packetFlags != 0 {
		return nil, fmt.Errorf("unknown flags 0x%02x", flags&^packetFlags)
	}
	p.HasSeq, p.HasAckSeq, p.HasCum = flags&flagSeq != 0, flags&flagAckSeq != 0, flags&flagCum != 0
	if p.HasSeq {
		p.Seq = r.uvarint("seq")
	}
	if p.HasAckSeq {
		p.AckSeq = r.uvarint("ack_seq")
	}
	if p.HasCum {
		p.Cum = r.uvarint("cum")
	}
	if flags&flagSession != 0 {
		if p.Session = r.uint64("session"); r.err == nil && p.Session == 0 {
			return nil, errors.New("session flagged but 0")
		}
	}
	if flags&flagHandshake != 0 {
		p.Version = r.byte("version")
		p.Nick = r.name("nick")
		n := r.uvarint("suite count")
		if n > core.MaxSuites {
			return nil, fmt.Errorf("%d suites, at most %d", n, core.MaxSuites)
		}
		if n > 0 {
			p.Suites = make([]string, n)
			for i := range p.Suites {
				p.Suites[i] = r.name(fieldName("suites", i))
			}
		}
		p.Suite = r.name("suite")
		p.ServerKey = r.bytes("server_key", core.MaxKeyBytes)
		p.Sig = r.bytes("sig", core.MaxKeyBytes)
		p.Cookie = r.bytes("cookie", core.MaxKeyBytes)
		// Bounded here, held to exactly core.ResumeLen below.
		p.Resume = r.bytes("resume", core.ResumeLen)
		p.ClientKey = r.bytes("client_key", core.MaxKeyBytes)
		p.ClientSig = r.bytes("client_sig", core.MaxKeyBytes)
		if r.err == nil && !hasHandshake(p) {
			return nil, errors.New("handshake flagged but empty")
		}
	}
	p.Payload = r.bytes("payload", core.MaxDatagram)
	if err := r.end(); err != nil {
		return nil, err
	}
	if err := core.CheckV2(p, fieldName); err != nil {
		return nil, err
	}
	return p, nil
}
