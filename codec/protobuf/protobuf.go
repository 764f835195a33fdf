// Package protobuf implements the "protobuf" codec: the packets of protocol
// versions 1 and 2, and the inner message of version 2, as the Protocol
// Buffers messages of proto/packet/v1/packet.proto (Go: proto/packetpb). It
// carries exactly what the "json" codec (codec/json) carries, under the same
// rules, with payload, server_key and sig as raw bytes instead of base64, so
// datagrams are smaller (PROTOCOL.md, "Codecs").
//
// Several inner messages in one DATA (core.Bundler) are a bundle: a Message
// holding them in its repeated field bundle (15), and nothing else; see
// AppendBundled and DecodeMessages. DecodeMessage refuses one, which it
// would otherwise read as an empty chat message.
//
// # Encoding
//
// Append writes what a deterministic marshal (proto.MarshalOptions{
// Deterministic: true}) of the packetpb.Packet writes, so the same packet
// always gives the same bytes; Append and Decode do it by hand (wire.go),
// without the generated code's reflection and allocations. Fields are written
// in number order and type, field 1, is never 0, so every encoded packet
// starts with the byte 0x08 (field 1, wire type varint). A JSON datagram
// starts with '{' or whitespace, never 0x08, so a server that accepts both
// codecs can tell them apart by the first byte. Like codec/json, Append
// refuses a packet that Decode would refuse (an unknown type, a nick that is
// too long or not UTF-8, too many suites, …), so that the error is the
// sender's, not a silent drop at the receiver.
//
// Proto3 does not tell an absent scalar from its default, so 0, "" and empty
// bytes are not written, as codec/json omits them too; seq, ack_seq and cum
// are optional fields with explicit presence (HasSeq, HasAckSeq, HasCum),
// since 0 is a real sequence number. One difference follows: codec/json
// requires a "payload" field on KEY_REQ, KEY_REP and DATA, even an empty
// one; here an empty payload is not written, so that rule cannot be stated.
// The packets each codec accepts are the same all the same: an empty payload
// is legal in both.
//
// # Decoding
//
// Every datagram may be hostile, so Decode is strict and says why it
// refuses:
//
//   - the datagram must start with 0x08: the type field, first, as a varint.
//     Every encoder that writes fields in number order (all the common ones
//     do) produces that, and it keeps the set of datagrams this codec
//     accepts disjoint from codec/json's;
//   - it must be well-formed protobuf wire format to its last byte (a
//     truncated field is refused);
//   - a known field must have the wire type packet.proto gives it. Protobuf
//     decoders, Go's included, would otherwise skip it silently as an
//     unknown field, which is how codec/json's "seq must be an integer"
//     reads here;
//   - a known singular field must appear at most once. Protobuf says the
//     last one wins, but codec/json refuses duplicates, and a packet whose
//     meaning hides in its second copy of a field is no packet an honest
//     peer sends;
//   - a varint must fit its field without truncation: the wire carries 64
//     bits, and decoders silently cut an enum to 32, so type 2^32+3 would
//     otherwise be DATA and version 2^32+2 would be 2;
//   - type must be KEY_REQ, KEY_REP, DATA, ACK, PING, PONG, BYE or COOKIE (not
//     TYPE_UNSPECIFIED, not a number packet.proto does not name);
//   - version is at most 255; nick and suite are at most 64 bytes, suites
//     at most 16 names of at most 64 bytes each; server_key, sig and cookie
//     at most 256 bytes; resume exactly 56 bytes (core.ResumeLen) or absent;
//   - strings must be valid UTF-8: proto3 requires it and Go's decoder
//     enforces it;
//   - unknown fields are skipped, whatever their value, if well-formed, so
//     that a later version can add fields as version 2 did.
//
// Trailing garbage cannot be refused as codec/json refuses it: a protobuf
// message has no end marker, the concatenation of two encodings is itself
// a valid encoding (of their merge), and bytes after the last field are
// just more fields. What follows a complete packet is therefore either
// malformed (refused, as a truncated field), a known field again (refused
// as a duplicate, or for its wire type), or an unknown field (skipped). The
// datagram is the frame: UDP says where the packet ends.
//
// The bounds are core's, which every codec holds (core.MaxName,
// core.MaxSuites, core.MaxKeyBytes); the length of a datagram is the
// transport's business (core.MaxDatagram).
package protobuf

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/packetpb"
)

// Name is the name the codec is registered and configured under.
const Name = "protobuf"

// Codec is the protobuf codec of protocol versions 1 and 2. The zero value
// is ready to use; it holds no state, so it is safe for concurrent use.
type Codec struct{}

var (
	_ core.Codec        = Codec{}
	_ core.MessageCodec = Codec{}
)

func init() {
	core.Codecs.Register(Name, Codec{})
}

// firstByte is the first byte of every encoded packet: the tag of field 1
// (type) with wire type 0 (varint), (1<<3)|0.
const firstByte = 0x08

var (
	marshal   = proto.MarshalOptions{Deterministic: true}
	unmarshal = proto.UnmarshalOptions{DiscardUnknown: true}
)

// Name returns "protobuf".
func (Codec) Name() string { return Name }

// Append appends the encoding of p to dst; see the package documentation.
// On error dst is returned unchanged.
func (Codec) Append(dst []byte, p *core.Packet) ([]byte, error) {
	if p == nil {
		return dst, errors.New("codec/protobuf: cannot encode a nil packet")
	}
	if !knownType(p.Type) {
		return dst, fmt.Errorf("codec/protobuf: cannot encode packet type %v", p.Type)
	}
	if err := core.CheckV2(p, fieldName); err != nil {
		return dst, fmt.Errorf("codec/protobuf: cannot encode %w", err)
	}
	return appendPacket(dst, p), nil
}

// knownType reports whether t is a packet type of version 1 or 2.
func knownType(t core.PacketType) bool {
	return t >= core.TypeKeyReq && t <= core.TypeCookie
}

// fieldName names a field in errors as packet.proto does: nick, or
// suites[1] for entry idx >= 0 of a repeated field. core's checks call it
// only on their error paths.
func fieldName(field string, idx int) string {
	if idx < 0 {
		return field
	}
	return fmt.Sprintf("%s[%d]", field, idx)
}

// Decode parses one datagram; see the package documentation for what it
// accepts. The returned packet owns its payload and strings: it never
// aliases b (the protobuf decoder copies what it keeps).
func (c Codec) Decode(b []byte) (*core.Packet, error) { return core.DecodeNew(c, b) }

var _ core.DecoderTo = Codec{}

// DecodeTo is Decode into p, with the payload copied into buf's storage.
func (Codec) DecodeTo(p *core.Packet, b, buf []byte) error {
	*p = core.Packet{}
	if len(b) == 0 {
		return errors.New("codec/protobuf: empty datagram")
	}
	if b[0] != firstByte {
		return fmt.Errorf("codec/protobuf: datagram starts with 0x%02x, not 0x%02x (the type field)", b[0], firstByte)
	}
	if err := packetSchema.check(b, "datagram"); err != nil {
		return err
	}
	typ, version, err := decodePacket(p, b, buf)
	if err != nil {
		return err
	}
	if typ < int32(packetpb.Type_KEY_REQ) || typ > int32(packetpb.Type_COOKIE) {
		return fmt.Errorf("codec/protobuf: unknown packet type %d", typ)
	}
	if version > 255 {
		return fmt.Errorf("codec/protobuf: version %d out of range, at most 255", version)
	}
	// The schema check has bounded the number of suites already, so the
	// errors are core's field bounds: "datagram has suites[1] of 65 bytes".
	if err := core.CheckV2(p, fieldName); err != nil {
		return fmt.Errorf("codec/protobuf: datagram has %w", err)
	}
	p.Type = core.PacketType(typ)
	p.Version = uint8(version)
	return nil
}

var _ core.Sniffer = Codec{}

// Sniff reports whether a datagram is one of ours: every packet this codec
// writes starts with the tag of field 1 (0x08), and a JSON one with '{'.
func (Codec) Sniff(b []byte) bool { return len(b) > 0 && b[0] == 0x08 }
