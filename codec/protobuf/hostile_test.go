package protobuf_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
)

// utf8Bad is a string that is not UTF-8.
const utf8Bad = "a\xffb"

// Builders of hand-made wire bytes, for what Append never produces.
func varint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func field(num protowire.Number, b []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
}

func fixed64(num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(protowire.AppendTag(nil, num, protowire.Fixed64Type), v)
}

func fixed32(num protowire.Number, v uint32) []byte {
	return protowire.AppendFixed32(protowire.AppendTag(nil, num, protowire.Fixed32Type), v)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// typeData is the start of a well-formed DATA: 08 03.
var typeData = varint(1, uint64(core.TypeData))

// hostileCases are datagrams Decode must refuse, each with a word of the
// error that says why.
func hostileCases() []struct {
	name string
	in   []byte
	want string
} {
	seventeen := typeData
	for range 17 {
		seventeen = cat(seventeen, field(9, []byte("s")))
	}
	return []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "empty datagram"},
		{"json", []byte(`{"type": "DATA", "payload": ""}`), "starts with 0x7b"},
		{"json with space", []byte(` {"type": "DATA"}`), "starts with 0x20"},
		{"type not first", cat(field(5, []byte("x")), typeData), "starts with 0x2a"},
		{"type as bytes", field(1, []byte{3}), "starts with 0x0a"},
		{"type as fixed64", fixed64(1, 3), "starts with 0x09"},
		{"unknown type 99", varint(1, 99), "unknown packet type 99"},
		{"type unspecified", varint(1, 0), "unknown packet type 0"},
		{"type negative", varint(1, math.MaxUint64), "unknown packet type -1"},
		// A decoder truncates the enum to 32 bits: 2^32+3 would be DATA.
		{"type 2^32+3", varint(1, 1<<32+3), "out of range"},
		{"type twice", cat(typeData, varint(1, uint64(core.TypeAck))), "duplicate type"},
		{"truncated type", []byte{0x08}, "field 1"},
		{"overlong varint", append([]byte{0x08}, bytes.Repeat([]byte{0xff}, 10)...), "field 1"},
		// Wrong wire types on known fields, which a protobuf decoder would skip
		// as unknown fields.
		{"seq as fixed64", cat(typeData, fixed64(2, 1)), "seq (field 2) has wire type fixed64, not varint"},
		{"seq as bytes", cat(typeData, field(2, []byte("1"))), "seq (field 2) has wire type bytes"},
		{"ack_seq as fixed32", cat(typeData, fixed32(3, 1)), "ack_seq (field 3) has wire type fixed32"},
		{"payload as varint", cat(typeData, varint(5, 1)), "payload (field 5) has wire type varint"},
		{"session as varint", cat(typeData, varint(7, 1)), "session (field 7) has wire type varint, not fixed64"},
		{"nick as varint", cat(typeData, varint(8, 1)), "nick (field 8) has wire type varint"},
		{"suites as fixed32", cat(typeData, fixed32(9, 1)), "suites (field 9) has wire type fixed32"},
		{"version as bytes", cat(typeData, field(6, []byte{2})), "version (field 6) has wire type bytes"},
		{"sig as group", cat(typeData, protowire.AppendTag(nil, 12, protowire.StartGroupType), protowire.AppendTag(nil, 12, protowire.EndGroupType)), "sig (field 12) has wire type group"},
		// Field bounds.
		{"version 256", cat(typeData, varint(6, 256)), "version 256 out of range"},
		{"version 2^32+2", cat(typeData, varint(6, 1<<32+2)), "out of range"},
		{"nick 65 bytes", cat(typeData, field(8, bytes.Repeat([]byte("n"), 65))), "nick of 65 bytes"},
		{"nick not utf-8", cat(typeData, field(8, []byte(utf8Bad))), "UTF-8"},
		{"17 suites", seventeen, "more than 16 values of suites"},
		{"suite name 65 bytes", cat(typeData, field(9, []byte("a")), field(9, bytes.Repeat([]byte("s"), 65))), "suites[1] of 65 bytes"},
		{"suites not utf-8", cat(typeData, field(9, []byte(utf8Bad))), "UTF-8"},
		{"suite 65 bytes", cat(typeData, field(10, bytes.Repeat([]byte("s"), 65))), "suite of 65 bytes"},
		{"server_key 257 bytes", cat(typeData, field(11, make([]byte, 257))), "server_key of 257 bytes"},
		{"sig 257 bytes", cat(typeData, field(12, make([]byte, 257))), "sig of 257 bytes"},
		{"resume 55 bytes", cat(typeData, field(14, make([]byte, core.ResumeLen-1))), "resume of 55 bytes, want 56 or none"},
		{"resume 57 bytes", cat(typeData, field(14, make([]byte, core.ResumeLen+1))), "resume of 57 bytes, want 56 or none"},
		{"resume 257 bytes", cat(typeData, field(14, make([]byte, 257))), "resume of 257 bytes"},
		{"resume as varint", cat(typeData, varint(14, 1)), "resume (field 14) has wire type varint"},
		{"resume twice", cat(typeData, field(14, make([]byte, core.ResumeLen)), field(14, make([]byte, core.ResumeLen))), "duplicate resume"},
		{"client_key 257 bytes", cat(typeData, field(15, make([]byte, 257))), "client_key of 257 bytes"},
		{"client_sig 257 bytes", cat(typeData, field(16, make([]byte, 257))), "client_sig of 257 bytes"},
		{"client_sig twice", cat(typeData, field(16, make([]byte, 64)), field(16, make([]byte, 64))), "duplicate client_sig"},
		// Duplicates of singular fields.
		{"seq twice", cat(typeData, varint(2, 1), varint(2, 2)), "duplicate seq"},
		{"payload twice", cat(typeData, field(5, []byte("a")), field(5, []byte("b"))), "duplicate payload"},
		{"session twice", cat(typeData, fixed64(7, 1), fixed64(7, 2)), "duplicate session"},
		// Malformed wire format.
		{"payload longer than datagram", cat(typeData, []byte{0x2a, 0x05, 1, 2}), "field 5"},
		{"field number 0", cat(typeData, []byte{0x00, 0x00}), "bad field tag"},
		{"reserved wire type 6", cat(typeData, []byte{0x0e}), "field 1"},
		{"end group at top level", cat(typeData, protowire.AppendTag(nil, 20, protowire.EndGroupType)), "field 20"},
		{"unclosed group", cat(typeData, protowire.AppendTag(nil, 20, protowire.StartGroupType)), "field 20"},
		{"mismatched group", cat(typeData, protowire.AppendTag(nil, 20, protowire.StartGroupType), protowire.AppendTag(nil, 21, protowire.EndGroupType)), "field 20"},
		{"trailing garbage", cat(typeData, field(5, []byte("x")), []byte{0xff}), "bad field tag"},
		{"truncated fixed64", cat(typeData, []byte{0x39, 1, 2, 3}), "field 7"},
	}
}

func TestDecodeHostile(t *testing.T) {
	var c protobuf.Codec
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			p, err := c.Decode(tc.in)
			if err == nil {
				t.Fatalf("Decode(%x) = %v, want an error", tc.in, p)
			}
			if p != nil {
				t.Fatal("Decode returned a packet with its error")
			}
			if !strings.HasPrefix(err.Error(), "codec/protobuf: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode(%x) = %q, want the codec/protobuf prefix and %q", tc.in, err, tc.want)
			}
		})
	}
}

// TestDecodeLenient: what Decode accepts although Append never writes it:
// unknown fields of every wire type, and a seq of 0 explicitly present.
func TestDecodeLenient(t *testing.T) {
	var c protobuf.Codec
	group := cat(protowire.AppendTag(nil, 40, protowire.StartGroupType), varint(1, 5), protowire.AppendTag(nil, 40, protowire.EndGroupType))
	for _, tc := range []struct {
		name string
		in   []byte
		want core.Packet
	}{
		{"unknown fields", cat(typeData, varint(99, 1), field(100, []byte("x")), fixed32(23, 1), fixed64(24, 1), group, varint(2, 4)),
			core.Packet{Type: core.TypeData, Seq: 4, HasSeq: true}},
		{"fields out of order", cat(typeData, fixed64(7, sid), field(5, []byte("p")), varint(2, 0)),
			core.Packet{Type: core.TypeData, Session: sid, Seq: 0, HasSeq: true, Payload: []byte("p")}},
		{"empty payload written", cat(typeData, field(5, nil)), core.Packet{Type: core.TypeData}},
		{"64-byte nick", cat(varint(1, 1), field(8, bytes.Repeat([]byte("n"), 64))),
			core.Packet{Type: core.TypeKeyReq, Nick: strings.Repeat("n", 64)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := c.Decode(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !codectest.SamePacket(p, &tc.want) {
				t.Fatalf("Decode(%x) = %+v, want %+v", tc.in, p, tc.want)
			}
		})
	}
}

// TestDecodeRandom: random datagrams from a seeded generator are refused.
// Then random field soup behind a valid type, which gets past the first
// byte: some of it is well-formed (unknown fields are legal), so the property
// there is the fuzzer's: refused, or decoded to a packet that round-trips.
func TestDecodeRandom(t *testing.T) {
	var c protobuf.Codec
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() []byte {
		in := make([]byte, 16+rng.IntN(200))
		for j := range in {
			in[j] = byte(rng.Uint32())
		}
		return in
	}
	for range 10000 {
		in := random()
		if p, err := c.Decode(in); err == nil {
			t.Fatalf("Decode(%x) = %v, want an error", in, p)
		}
	}
	accepted := 0
	for range 10000 {
		in := append([]byte{0x08, byte(1 + rng.IntN(7))}, random()...)
		if _, err := codectest.CheckDecode(t, c, in); err == nil {
			accepted++
		}
	}
	t.Logf("%d of 10000 random tails behind a valid type were well-formed", accepted)
}

// TestDecodeTruncated: cutting a packet inside a field is refused. Cutting
// it between fields gives a packet without the fields after the cut, which
// Decode cannot tell from one sent that way (protobuf has no end marker; the
// datagram is the frame): it decodes to exactly that shorter packet.
func TestDecodeTruncated(t *testing.T) {
	var c protobuf.Codec
	for _, tt := range codectest.Packets() {
		enc, err := c.Append(nil, &tt.P)
		if err != nil {
			t.Fatal(err)
		}
		// The offsets where a field ends.
		ends := map[int]bool{}
		for off := 0; off < len(enc); {
			_, typ, n := protowire.ConsumeTag(enc[off:])
			m := protowire.ConsumeFieldValue(0, typ, enc[off+n:])
			off += n + m
			ends[off] = true
		}
		for i := range len(enc) {
			p, err := c.Decode(enc[:i])
			switch {
			case !ends[i] && err == nil:
				t.Errorf("%s: Decode(%x), cut inside a field, = %v, want an error", tt.Name, enc[:i], p)
			case ends[i] && err != nil:
				t.Errorf("%s: Decode(%x), cut between fields: %v", tt.Name, enc[:i], err)
			case ends[i]:
				// Encoding the shorter packet gives back exactly the prefix.
				again, err := c.Append(nil, p)
				if err != nil || !bytes.Equal(again, enc[:i]) {
					t.Errorf("%s: the prefix %x decodes to %v, which encodes as %x (%v)", tt.Name, enc[:i], p, again, err)
				}
			}
		}
	}
}
