package protobuf_test

import (
	"bytes"
	"encoding/hex"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/codec/codectest"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/packetpb"
)

const sid = 0x0123456789abcdef // a sid wider than 53 bits, as codec/json's tests use

// samePacket compares every field the codecs carry; nil and empty are the
// same (a codec writes neither).
func samePacket(a, b *core.Packet) bool {
	return a.Type == b.Type &&
		a.Seq == b.Seq && a.HasSeq == b.HasSeq &&
		a.AckSeq == b.AckSeq && a.HasAckSeq == b.HasAckSeq &&
		a.Cum == b.Cum && a.HasCum == b.HasCum &&
		bytes.Equal(a.Payload, b.Payload) &&
		a.Version == b.Version && a.Session == b.Session &&
		a.Nick == b.Nick && slices.Equal(a.Suites, b.Suites) && a.Suite == b.Suite &&
		bytes.Equal(a.ServerKey, b.ServerKey) && bytes.Equal(a.Sig, b.Sig) && bytes.Equal(a.Cookie, b.Cookie)
}

func bytesOf(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// shapes is every kind of packet the engine sends, version 1 and 2, and the
// edges of the field bounds.
var shapes = []struct {
	name string
	p    core.Packet
}{
	{"v1 key_req", core.Packet{Type: core.TypeKeyReq, Payload: bytesOf(300, 0xaa)}},
	{"v1 key_rep", core.Packet{Type: core.TypeKeyRep, Payload: bytesOf(256, 0xbb)}},
	{"v1 data client", core.Packet{Type: core.TypeData, Seq: 0, HasSeq: true, Payload: bytesOf(80, 1)}},
	{"v1 data broadcast", core.Packet{Type: core.TypeData, Payload: bytesOf(80, 2)}},
	{"v1 ack", core.Packet{Type: core.TypeAck, AckSeq: 7, HasAckSeq: true}},
	{"v1 ack zero", core.Packet{Type: core.TypeAck, AckSeq: 0, HasAckSeq: true}},
	{"v1 data empty payload", core.Packet{Type: core.TypeData, Seq: 3, HasSeq: true}},
	{"v2 key_req", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "alice",
		Suites: []string{"x25519-chacha20-poly1305", "rsa-aes-cbc-hmac"}, Payload: []byte("pub")}},
	{"v2 key_rep", core.Packet{Type: core.TypeKeyRep, Version: 2, Session: sid, Nick: "alice", Suite: "x25519-chacha20-poly1305",
		ServerKey: bytesOf(32, 3), Sig: bytesOf(64, 4), Payload: bytesOf(80, 5)}},
	{"v2 data", core.Packet{Type: core.TypeData, Session: sid, Seq: 4, HasSeq: true, Payload: []byte("sealed")}},
	{"v2 ack", core.Packet{Type: core.TypeAck, Session: sid, AckSeq: 4, HasAckSeq: true, Payload: []byte("tag")}},
	{"v2 ack cum", core.Packet{Type: core.TypeAck, Session: sid, AckSeq: 9, HasAckSeq: true, Cum: 5, HasCum: true, Payload: []byte("tag")}},
	{"v2 ack cum zero", core.Packet{Type: core.TypeAck, Session: sid, AckSeq: 0, HasAckSeq: true, Cum: 0, HasCum: true}},
	{"v2 ping", core.Packet{Type: core.TypePing, Session: sid, Seq: 9, HasSeq: true, Payload: []byte{0xff, 0xfe}}},
	{"v2 pong", core.Packet{Type: core.TypePong, Session: sid, Payload: []byte{0xff, 0xfe}}},
	{"v2 bye", core.Packet{Type: core.TypeBye, Session: 2, Payload: []byte("x")}},
	{"bye bare", core.Packet{Type: core.TypeBye}},
	{"cookie", core.Packet{Type: core.TypeCookie, Cookie: bytesOf(16, 'c')}},
	{"key_req with cookie", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "n", Suites: []string{"s"}, Cookie: bytesOf(16, 'c'), Payload: []byte("hello")}},
	{"v2 every field", core.Packet{Type: core.TypeKeyRep, Version: 2, Session: 7,
		Seq: 1, HasSeq: true, AckSeq: 2, HasAckSeq: true, Cum: 3, HasCum: true,
		Nick: "n", Suites: []string{"a", "b"}, Suite: "a", ServerKey: []byte{1}, Sig: []byte{2}, Payload: []byte{3}}},
	{"max numbers", core.Packet{Type: core.TypeData, Version: 255, Session: math.MaxUint64,
		Seq: math.MaxUint64, HasSeq: true, AckSeq: math.MaxUint64, HasAckSeq: true, Cum: math.MaxUint64, HasCum: true}},
	{"max fields", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: strings.Repeat("é", 32),
		Suites: slices.Repeat([]string{strings.Repeat("s", 64)}, 16), Suite: strings.Repeat("t", 64),
		ServerKey: bytesOf(256, 6), Sig: bytesOf(256, 7), Payload: []byte{0}}},
	{"unicode and controls", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "a\"b\\c\x00\n\x7f世🌍",
		Suites: []string{"", "\u2028"}, Payload: []byte{0}}},
}

func TestRegistered(t *testing.T) {
	c, err := core.Codecs.Lookup(protobuf.Name)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "protobuf" {
		t.Fatalf("Name() = %q", c.Name())
	}
	if _, ok := c.(core.MessageCodec); !ok {
		t.Fatal("the registered codec is no core.MessageCodec")
	}
}

// TestTypeNumbering: packet.proto numbers the packet types as core does, so
// that Append and Decode can convert by number.
func TestTypeNumbering(t *testing.T) {
	for typ := core.TypeKeyReq; typ <= core.TypeCookie; typ++ {
		if got := packetpb.Type(typ).String(); got != typ.String() {
			t.Errorf("packetpb.Type(%d) = %s, core says %s", typ, got, typ)
		}
	}
	if n := packetpb.Type(0).Descriptor().Values().Len(); n != int(core.TypeCookie)+1 {
		t.Errorf("packet.proto has %d types, core %d", n, core.TypeCookie+1)
	}
}

// TestRoundTrip: every shape survives Append and Decode, the encoding starts
// with 0x08, and encoding again gives the same bytes.
func TestRoundTrip(t *testing.T) {
	var c protobuf.Codec
	for _, tt := range shapes {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("prefix:")
			got, err := c.Append(slices.Clip(prefix), &tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("Append clobbered dst: %q", got)
			}
			enc := got[len(prefix):]
			if enc[0] != 0x08 {
				t.Fatalf("encoding starts with 0x%02x, not 0x08: %x", enc[0], enc)
			}
			p, err := c.Decode(enc)
			if err != nil {
				t.Fatalf("Decode(%x): %v", enc, err)
			}
			if !samePacket(p, &tt.p) {
				t.Fatalf("round trip: %+v became %+v", tt.p, *p)
			}
			again, err := c.Append(nil, p)
			if err != nil || !bytes.Equal(again, enc) {
				t.Fatalf("re-encoding differs:\n%x\n%x (%v)", enc, again, err)
			}
		})
	}
}

// TestFirstByte: whatever the packet, its encoding starts with 0x08, which
// no JSON datagram does.
func TestFirstByte(t *testing.T) {
	var c protobuf.Codec
	for typ := core.TypeKeyReq; typ <= core.TypeCookie; typ++ {
		for _, p := range []core.Packet{
			{Type: typ},
			{Type: typ, Payload: []byte{'{'}},
			{Type: typ, Session: math.MaxUint64, Seq: 1, HasSeq: true, Nick: "{"},
		} {
			enc, err := c.Append(nil, &p)
			if err != nil {
				t.Fatal(err)
			}
			if enc[0] != 0x08 || enc[1] != byte(typ) {
				t.Errorf("%v encodes as %x", &p, enc)
			}
		}
	}
}

// goldenForms pins the bytes of a few packets: field numbers and wire types
// are the protocol, and must not change.
var goldenForms = []struct {
	name string
	p    core.Packet
	hex  string
}{
	// 08 03: type DATA; 10 04: seq 4; 2a 06 ...: payload; 39 + 8 bytes little-endian: session (fixed64).
	{"v2 data", core.Packet{Type: core.TypeData, Session: sid, Seq: 4, HasSeq: true, Payload: []byte("sealed")},
		"0803" + "1004" + "2a06" + hex.EncodeToString([]byte("sealed")) + "39" + "efcdab8967452301"},
	// 18 00: ack_seq 0, present; 20 05: cum 5.
	{"v2 ack cum", core.Packet{Type: core.TypeAck, AckSeq: 0, HasAckSeq: true, Cum: 5, HasCum: true},
		"0804" + "1800" + "2005"},
	// 30 02: version 2; 42: nick; 4a: suites, one field each; 52: suite; 5a: server_key; 62: sig.
	{"v2 handshake", core.Packet{Type: core.TypeKeyRep, Version: 2, Nick: "a", Suites: []string{"x", "y"}, Suite: "x",
		ServerKey: []byte{1}, Sig: []byte{2}, Payload: []byte{3}},
		"0802" + "2a0103" + "3002" + "420161" + "4a0178" + "4a0179" + "520178" + "5a0101" + "620102"},
	{"v1 ack", core.Packet{Type: core.TypeAck, AckSeq: 300, HasAckSeq: true}, "0804" + "18ac02"},
	{"bye bare", core.Packet{Type: core.TypeBye}, "0807"},
}

func TestGoldenForms(t *testing.T) {
	var c protobuf.Codec
	for _, tt := range goldenForms {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := c.Append(nil, &tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(enc); got != tt.hex {
				t.Fatalf("Append = %s\n    want %s", got, tt.hex)
			}
		})
	}
}

// TestAppendRefuses: what Decode would refuse is not sent, and dst comes
// back unchanged.
func TestAppendRefuses(t *testing.T) {
	bad := utf8Bad
	for _, tt := range []struct {
		name, want string
		p          *core.Packet
	}{
		{"nil", "nil packet", nil},
		{"type 0", "packet type", &core.Packet{}},
		{"type 9", "packet type", &core.Packet{Type: core.TypeCookie + 1}},
		{"nick too long", "nick of 65 bytes", &core.Packet{Type: core.TypeKeyReq, Nick: strings.Repeat("n", 65)}},
		{"nick not utf-8", "nick: not valid UTF-8", &core.Packet{Type: core.TypeKeyReq, Nick: bad}},
		{"17 suites", "17 suites", &core.Packet{Type: core.TypeKeyReq, Suites: make([]string, 17)}},
		{"suite name too long", "suites[1] of 65 bytes", &core.Packet{Type: core.TypeKeyReq, Suites: []string{"a", strings.Repeat("s", 65)}}},
		{"suites not utf-8", "suites[0]: not valid UTF-8", &core.Packet{Type: core.TypeKeyReq, Suites: []string{bad}}},
		{"suite too long", "suite of 65 bytes", &core.Packet{Type: core.TypeKeyRep, Suite: strings.Repeat("s", 65)}},
		{"server_key too long", "server_key of 257 bytes", &core.Packet{Type: core.TypeKeyRep, ServerKey: make([]byte, 257)}},
		{"sig too long", "sig of 257 bytes", &core.Packet{Type: core.TypeKeyRep, Sig: make([]byte, 257)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := protobuf.Codec{}.Append(dst, tt.p)
			if err == nil {
				t.Fatalf("Append accepted it: %x", got)
			}
			if !strings.HasPrefix(err.Error(), "codec/protobuf: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want the codec/protobuf prefix and %q", err, tt.want)
			}
			if string(got) != "keep" {
				t.Fatalf("dst changed: %q", got)
			}
		})
	}
}

// TestSameAsJSON: the two codecs accept the same packets. Every shape, and
// every packet one codec refuses to encode, gets the same verdict from both,
// and whatever both accept decodes to the same packet.
func TestSameAsJSON(t *testing.T) {
	var pc protobuf.Codec
	var jc jsoncodec.Codec
	var all []core.Packet
	for _, tt := range shapes {
		all = append(all, tt.p)
	}
	all = append(all,
		core.Packet{Type: core.TypeKeyReq, Nick: strings.Repeat("n", 65)},
		core.Packet{Type: core.TypeKeyReq, Nick: strings.Repeat("n", 64)},
		core.Packet{Type: core.TypeKeyReq, Nick: utf8Bad},
		core.Packet{Type: core.TypeKeyReq, Suites: make([]string, 17)},
		core.Packet{Type: core.TypeKeyReq, Suites: make([]string, 16)},
		core.Packet{Type: core.TypeKeyRep, ServerKey: make([]byte, 257)},
		core.Packet{Type: core.TypeKeyRep, Sig: make([]byte, 257)},
		core.Packet{Type: core.TypeCookie + 1},
	)
	for _, p := range all {
		pEnc, pErr := pc.Append(nil, &p)
		jEnc, jErr := jc.Append(nil, &p)
		if (pErr == nil) != (jErr == nil) {
			t.Errorf("%v: protobuf says %v, json says %v", &p, pErr, jErr)
			continue
		}
		if pErr != nil {
			continue
		}
		pp, pErr := pc.Decode(pEnc)
		jp, jErr := jc.Decode(jEnc)
		if pErr != nil || jErr != nil {
			t.Errorf("%v: Decode: protobuf %v, json %v", &p, pErr, jErr)
			continue
		}
		if !samePacket(pp, jp) || pp.HasCum != jp.HasCum || pp.Cum != jp.Cum {
			t.Errorf("decoded differently:\nprotobuf %+v\njson     %+v", pp, jp)
		}
	}
}

// TestDecodeNoAlias: the decoded packet does not share memory with the
// datagram, which the transport reuses.
func TestDecodeNoAlias(t *testing.T) {
	var c protobuf.Codec
	want := shapes[8].p // v2 key_rep: payload, strings and keys
	enc, err := c.Append(nil, &want)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	clear(enc)
	if !samePacket(p, &want) {
		t.Fatalf("packet changed when the datagram was overwritten: %+v", p)
	}
}

// TestSize: the point of the codec. A 64-byte plaintext sealed by the seed
// suite is a 128-byte payload (32+16+80: PROTOCOL.md's seal of IV, MAC and
// padded ciphertext); in a version 2 DATA with a session id and a seq the
// protobuf datagram must be at least 25% smaller than the JSON one.
func TestSize(t *testing.T) {
	p := &core.Packet{Type: core.TypeData, Session: 0xfedcba9876543210, Seq: 12345, HasSeq: true, Payload: bytesOf(128, 0x5a)}
	pEnc, err := protobuf.Codec{}.Append(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	jEnc, err := jsoncodec.Codec{}.Append(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	saved := 1 - float64(len(pEnc))/float64(len(jEnc))
	t.Logf("v2 DATA, 128-byte payload: json %d bytes, protobuf %d bytes (%.1f%% smaller)", len(jEnc), len(pEnc), 100*saved)
	if saved < 0.25 {
		t.Fatalf("protobuf %d bytes vs json %d: only %.1f%% smaller, want at least 25%%", len(pEnc), len(jEnc), 100*saved)
	}
}

// TestDecodeTo: decoding into a reused packet gives what Decode gives.
func TestDecodeTo(t *testing.T) {
	var ps []*core.Packet
	for _, s := range shapes {
		ps = append(ps, &s.p)
	}
	codectest.TestDecodeTo(t, protobuf.Codec{}, protobuf.Codec{}, ps)
}
