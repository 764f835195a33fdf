package protobuf_test

import (
	"bytes"
	"encoding/hex"
	"math"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/codec/codectest"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/packetpb"
)

const sid = 0x0123456789abcdef // a sid wider than 53 bits, as codec/json's tests use

func bytesOf(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

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

// TestRoundTrip: every packet round trips (the conformance suite's check),
// and its encoding starts with 0x08.
func TestRoundTrip(t *testing.T) {
	var c protobuf.Codec
	codectest.TestRoundTrip(t, c)
	for _, tt := range codectest.Packets() {
		enc, err := c.Append(nil, &tt.P)
		if err != nil {
			t.Fatal(err)
		}
		if enc[0] != 0x08 {
			t.Errorf("%s: encoding starts with 0x%02x, not 0x08: %x", tt.Name, enc[0], enc)
		}
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
	for _, tt := range codectest.Packets() {
		all = append(all, tt.P)
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
		if !codectest.SamePacket(pp, jp) || pp.HasCum != jp.HasCum || pp.Cum != jp.Cum {
			t.Errorf("decoded differently:\nprotobuf %+v\njson     %+v", pp, jp)
		}
	}
}

// TestDecodeNoAlias: the decoded packet does not share memory with the
// datagram, which the transport reuses (the conformance suite's check).
func TestDecodeNoAlias(t *testing.T) { codectest.TestNoAlias(t, protobuf.Codec{}) }

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
	for _, s := range codectest.Packets() {
		ps = append(ps, &s.P)
	}
	codectest.TestDecodeTo(t, protobuf.Codec{}, protobuf.Codec{}, ps)
}

// TestCodec runs the conformance suite every codec passes.
func TestCodec(t *testing.T) { codectest.TestCodec(t, protobuf.Codec{}) }
