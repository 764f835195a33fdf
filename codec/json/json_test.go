package json_test

import (
	"bytes"
	"encoding/base64"
	stdjson "encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
)

// seedVectors is the part of testdata/seed-vectors.json the codec needs: the
// exact bytes the seed's reference code (Python json.dumps) sent.
type seedVectors struct {
	KeyReqPacket string `json:"key_req_packet"`
	KeyRepPacket string `json:"key_rep_packet"`
	AckPacket    string `json:"ack_packet"`
	Messages     []struct {
		Name                  string `json:"name"`
		Payload               string `json:"payload"`
		ClientDataPacket      string `json:"client_data_packet"`
		ServerBroadcastPacket string `json:"server_broadcast_packet"`
	} `json:"messages"`
}

func loadVectors(tb testing.TB) seedVectors {
	tb.Helper()
	raw, err := os.ReadFile("../../testdata/seed-vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v seedVectors
	if err := stdjson.Unmarshal(raw, &v); err != nil {
		tb.Fatal(err)
	}
	if v.KeyReqPacket == "" || v.KeyRepPacket == "" || v.AckPacket == "" || len(v.Messages) == 0 {
		tb.Fatal("seed vectors incomplete")
	}
	return v
}

// vectorCase is one seed packet and what it must decode to.
type vectorCase struct {
	name string
	wire string
	want core.Packet
}

func vectorCases(tb testing.TB) []vectorCase {
	tb.Helper()
	v := loadVectors(tb)
	// The handshake payloads are checked against the JSON text itself, decoded
	// by encoding/json and base64 independently of the codec.
	payloadOf := func(wire string) []byte {
		var m struct{ Payload string }
		if err := stdjson.Unmarshal([]byte(wire), &m); err != nil {
			tb.Fatal(err)
		}
		p, err := base64.StdEncoding.DecodeString(m.Payload)
		if err != nil {
			tb.Fatal(err)
		}
		return p
	}
	cases := []vectorCase{
		{"key_req", v.KeyReqPacket, core.Packet{Type: core.TypeKeyReq, Payload: payloadOf(v.KeyReqPacket)}},
		{"key_rep", v.KeyRepPacket, core.Packet{Type: core.TypeKeyRep, Payload: payloadOf(v.KeyRepPacket)}},
		{"ack", v.AckPacket, core.Packet{Type: core.TypeAck, AckSeq: 3, HasAckSeq: true}},
	}
	for i, m := range v.Messages {
		payload, err := base64.StdEncoding.DecodeString(m.Payload)
		if err != nil {
			tb.Fatalf("%s: %v", m.Name, err)
		}
		cases = append(cases,
			vectorCase{m.Name + "/client_data", m.ClientDataPacket,
				core.Packet{Type: core.TypeData, Seq: uint64(i), HasSeq: true, Payload: payload}},
			vectorCase{m.Name + "/server_broadcast", m.ServerBroadcastPacket,
				core.Packet{Type: core.TypeData, Payload: payload}},
		)
	}
	return cases
}

func TestRegistered(t *testing.T) {
	c, err := core.Codecs.Lookup(json.Name)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "json" {
		t.Fatalf("Name() = %q", c.Name())
	}
}

// TestSeedVectors: every packet of the seed decodes to what it means, and
// re-encoding it gives back the seed's bytes exactly.
func TestSeedVectors(t *testing.T) {
	var c json.Codec
	for _, tc := range vectorCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Decode([]byte(tc.wire))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !codectest.SamePacket(got, &tc.want) {
				t.Fatalf("Decode = %v, want %v", got, &tc.want)
			}
			// The empty message still has a 64-byte sealed payload; a DATA
			// always carries one.
			if tc.want.Type != core.TypeAck && got.Payload == nil {
				t.Fatal("payload is nil")
			}
			enc, err := c.Append(nil, got)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if string(enc) != tc.wire {
				t.Fatalf("Append\n got %s\nwant %s", enc, tc.wire)
			}
		})
	}
}

// TestAppendForms pins the exact bytes of each form, including the edges the
// seed vectors do not reach.
func TestAppendForms(t *testing.T) {
	tests := []struct {
		name string
		p    core.Packet
		want string
	}{
		{"key_req", core.Packet{Type: core.TypeKeyReq, Payload: []byte("hi")}, `{"type": "KEY_REQ", "payload": "aGk="}`},
		{"key_rep empty", core.Packet{Type: core.TypeKeyRep}, `{"type": "KEY_REP", "payload": ""}`},
		{"data seq", core.Packet{Type: core.TypeData, Seq: 0, HasSeq: true, Payload: []byte{0xff}}, `{"type": "DATA", "seq": 0, "payload": "/w=="}`},
		{"data max seq", core.Packet{Type: core.TypeData, Seq: math.MaxUint64, HasSeq: true}, `{"type": "DATA", "seq": 18446744073709551615, "payload": ""}`},
		{"data broadcast", core.Packet{Type: core.TypeData, Payload: []byte{1, 2, 3}}, `{"type": "DATA", "payload": "AQID"}`},
		{"data empty payload", core.Packet{Type: core.TypeData, Payload: []byte{}}, `{"type": "DATA", "payload": ""}`},
		{"ack", core.Packet{Type: core.TypeAck, AckSeq: 3, HasAckSeq: true}, `{"type": "ACK", "ack_seq": 3}`},
		{"ack with payload", core.Packet{Type: core.TypeAck, AckSeq: 7, HasAckSeq: true, Payload: []byte("x")}, `{"type": "ACK", "ack_seq": 7, "payload": "eA=="}`},
		{"ack empty payload", core.Packet{Type: core.TypeAck, AckSeq: 1, HasAckSeq: true, Payload: []byte{}}, `{"type": "ACK", "ack_seq": 1}`},
		{"all fields", core.Packet{Type: core.TypeData, Seq: 1, HasSeq: true, AckSeq: 2, HasAckSeq: true, Payload: []byte("a")}, `{"type": "DATA", "seq": 1, "ack_seq": 2, "payload": "YQ=="}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendForm(t, &tt.p, tt.want)
			if !stdjson.Valid(got) {
				t.Fatalf("not valid JSON: %s", got)
			}
		})
	}
}

// appendForm appends p after a prefix and checks that the prefix stays and
// that what follows it is want; it returns what follows.
func appendForm(t *testing.T, p *core.Packet, want string) []byte {
	t.Helper()
	var c json.Codec
	prefix := []byte("prefix:")
	got, err := c.Append(prefix, p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("Append clobbered dst: %q", got)
	}
	got = got[len(prefix):]
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	return got
}

func TestAppendRejects(t *testing.T) {
	var c json.Codec
	for _, p := range []*core.Packet{nil, {Type: core.TypeInvalid}, {Type: 99}} {
		dst := []byte("keep")
		got, err := c.Append(dst, p)
		if err == nil || !strings.HasPrefix(err.Error(), "codec/json: ") {
			t.Errorf("Append(%v): err = %v, want a codec/json error", p, err)
		}
		if string(got) != "keep" {
			t.Errorf("Append(%v) changed dst to %q", p, got)
		}
	}
}

// hostileCase is a datagram Decode must refuse, and a word its error must
// contain, so that the log says what was wrong.
type hostileCase struct {
	name string
	in   string
	want string
}

func hostileCases() []hostileCase {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	const ok = `"payload": "AA=="`
	return append([]hostileCase{
		{"empty", "", "empty datagram"},
		{"whitespace only", "  \n", "truncated"},
		{"not json", "hello", "not valid JSON: invalid character 'h'"},
		{"truncated", `{"type": "DATA", "seq": 1, "payl`, "truncated"},
		{"truncated after brace", `{`, "truncated"},
		{"trailing garbage", `{"type": "ACK", "ack_seq": 1}x`, "not valid JSON: invalid character 'x' after top-level value"},
		{"two objects", `{"type": "ACK", "ack_seq": 1}{"type": "ACK", "ack_seq": 2}`, "after top-level value"},
		{"random 4096 bytes", string(random), "codec/json: "},
		{"invalid utf8", "{\"type\": \"ACK\", \"ack_seq\": 1, \"x\": \"\xff\xfe\"}", "UTF-8"},
		{"bom", "\xef\xbb\xbf{\"type\": \"ACK\"}", "not valid JSON"},
		{"nan", `{"type": "DATA", "seq": NaN, ` + ok + `}`, "not valid JSON"},
		{"infinity", `{"type": "DATA", "seq": Infinity, ` + ok + `}`, "not valid JSON"},
		{"leading zero", `{"type": "DATA", "seq": 01, ` + ok + `}`, "not valid JSON"},
		{"single quotes", `{'type': 'ACK'}`, "not valid JSON"},
		{"array", `[]`, "not a JSON object but an array"},
		{"string", `"DATA"`, "not a JSON object but a string"},
		{"number", `42`, "not a JSON object but a number"},
		{"null", `null`, "not a JSON object but null"},
		{"true", `true`, "not a JSON object but a boolean"},
		{"empty object", `{}`, `missing "type"`},
		{"type case", `{"TYPE": "ACK", "ack_seq": 1}`, `missing "type"`},
		{"type number", `{"type": 5}`, `"type" must be a string, got a number`},
		{"type null", `{"type": null}`, `"type" must be a string, got null`},
		{"type object", `{"type": {}}`, `"type" must be a string, got an object`},
		{"type unknown", `{"type": "HELLO", ` + ok + `}`, `unknown packet type "HELLO"`},
		{"type lowercase", `{"type": "data", ` + ok + `}`, "unknown packet type"},
		{"type invalid name", `{"type": "INVALID", ` + ok + `}`, "unknown packet type"},
		{"type padded", `{"type": "DATA ", ` + ok + `}`, "unknown packet type"},
		{"type long", `{"type": "` + strings.Repeat("A", 1000) + `"}`, "unknown packet type"},
		{"seq string", `{"type": "DATA", "seq": "1", ` + ok + `}`, `"seq" must be a non-negative integer, got a string`},
		{"seq float", `{"type": "DATA", "seq": 1.5, ` + ok + `}`, "fraction or exponent"},
		{"seq float integral", `{"type": "DATA", "seq": 1.0, ` + ok + `}`, "fraction or exponent"},
		{"seq exponent", `{"type": "DATA", "seq": 1e3, ` + ok + `}`, "fraction or exponent"},
		{"seq exponent upper", `{"type": "DATA", "seq": 1E3, ` + ok + `}`, "fraction or exponent"},
		{"seq negative", `{"type": "DATA", "seq": -1, ` + ok + `}`, "got negative"},
		{"seq negative zero", `{"type": "DATA", "seq": -0, ` + ok + `}`, "got negative"},
		{"seq null", `{"type": "DATA", "seq": null, ` + ok + `}`, `"seq" must be a non-negative integer, got null`},
		{"seq object", `{"type": "DATA", "seq": {}, ` + ok + `}`, "got an object"},
		{"seq array", `{"type": "DATA", "seq": [1], ` + ok + `}`, "got an array"},
		{"seq bool", `{"type": "DATA", "seq": true, ` + ok + `}`, "got a boolean"},
		{"seq 2^64", `{"type": "DATA", "seq": 18446744073709551616, ` + ok + `}`, "out of range for uint64"},
		{"seq huge", `{"type": "DATA", "seq": ` + strings.Repeat("9", 400) + `, ` + ok + `}`, "out of range for uint64"},
		{"ack_seq string", `{"type": "ACK", "ack_seq": "3"}`, `"ack_seq" must be a non-negative integer, got a string`},
		{"ack_seq float", `{"type": "ACK", "ack_seq": 3.0}`, "fraction or exponent"},
		{"ack_seq negative", `{"type": "ACK", "ack_seq": -3}`, "got negative"},
		{"ack_seq null", `{"type": "ACK", "ack_seq": null}`, "got null"},
		{"ack_seq bool", `{"type": "ACK", "ack_seq": false}`, "got a boolean"},
		{"ack_seq object", `{"type": "ACK", "ack_seq": {"n": 3}}`, "got an object"},
		{"ack_seq array", `{"type": "ACK", "ack_seq": []}`, "got an array"},
		{"ack_seq 2^64", `{"type": "ACK", "ack_seq": 18446744073709551616}`, "out of range for uint64"},
		{"payload number", `{"type": "DATA", "seq": 0, "payload": 5}`, `"payload" must be a base64 string, got a number`},
		{"payload null", `{"type": "DATA", "seq": 0, "payload": null}`, "got null"},
		{"payload array", `{"type": "KEY_REQ", "payload": ["AA=="]}`, "got an array"},
		{"payload not base64", `{"type": "DATA", "seq": 0, "payload": "%%%not base64%%%"}`, "not valid padded standard base64"},
		{"payload unpadded", `{"type": "DATA", "seq": 0, "payload": "AA"}`, "not valid padded standard base64"},
		{"payload urlsafe", `{"type": "DATA", "seq": 0, "payload": "-_8="}`, "not valid padded standard base64"},
		{"payload nonzero pad bits", `{"type": "DATA", "seq": 0, "payload": "AB=="}`, "not valid padded standard base64"},
		{"payload space", `{"type": "DATA", "seq": 0, "payload": "AA== "}`, "not valid padded standard base64"},
		{"payload newline", `{"type": "DATA", "seq": 0, "payload": "AAAA\nAAAA"}`, "line break"},
		{"payload cr", `{"type": "DATA", "seq": 0, "payload": "AAAA\r"}`, "line break"},
		{"payload non-ascii", `{"type": "DATA", "seq": 0, "payload": "AAé="}`, "not valid padded standard base64"},
		{"data no payload", `{"type": "DATA", "seq": 0}`, `DATA without "payload"`},
		{"key_req no payload", `{"type": "KEY_REQ"}`, `KEY_REQ without "payload"`},
		{"key_rep no payload", `{"type": "KEY_REP", "v": 2}`, `KEY_REP without "payload"`},
		{"duplicate type", `{"type": "ACK", "ack_seq": 1, "type": "DATA", ` + ok + `}`, `duplicate "type"`},
		{"duplicate seq", `{"type": "DATA", "seq": 1, "seq": 2, ` + ok + `}`, `duplicate "seq"`},
		{"duplicate ack_seq", `{"type": "ACK", "ack_seq": 1, "ack_seq": 2}`, `duplicate "ack_seq"`},
		{"duplicate payload", `{"type": "DATA", ` + ok + `, ` + ok + `}`, `duplicate "payload"`},
		{"duplicate escaped", `{"type": "DATA", "seq": 1, "s\u0065q": 2, ` + ok + `}`, `duplicate "seq"`},
	}, hostileV2Cases()...)
}

func TestDecodeRejectsHostile(t *testing.T) {
	var c json.Codec
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			p, err := c.Decode([]byte(tc.in))
			if err == nil {
				t.Fatalf("Decode accepted %q as %v", tc.in, p)
			}
			if p != nil {
				t.Errorf("Decode returned a packet with its error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "codec/json: ") {
				t.Errorf("error %q lacks the codec/json prefix", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not mention %q", msg, tc.want)
			}
			if len(msg) > 200 {
				t.Errorf("error is %d bytes long; hostile input must not flood the log", len(msg))
			}
		})
	}
}

// TestDecodeAccepts covers what is legal JSON and must therefore be read as
// the seed's Python would read it, however unusual.
func TestDecodeAccepts(t *testing.T) {
	big := make([]byte, 3000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	bigB64 := base64.StdEncoding.EncodeToString(big)
	testDecodeAccepts(t, []acceptCase{
		{"compact", `{"type":"DATA","seq":5,"payload":"AQID"}`,
			core.Packet{Type: core.TypeData, Seq: 5, HasSeq: true, Payload: []byte{1, 2, 3}}},
		{"whitespace", " \t\r\n{ \"type\" :\n\"ACK\" , \"ack_seq\" : 0 } \n",
			core.Packet{Type: core.TypeAck, HasAckSeq: true}},
		{"reordered", `{"payload": "AQID", "seq": 9, "type": "DATA"}`,
			core.Packet{Type: core.TypeData, Seq: 9, HasSeq: true, Payload: []byte{1, 2, 3}}},
		{"broadcast without seq", `{"type": "DATA", "payload": ""}`,
			core.Packet{Type: core.TypeData, Payload: []byte{}}},
		{"max seq", `{"type": "DATA", "seq": 18446744073709551615, "payload": ""}`,
			core.Packet{Type: core.TypeData, Seq: math.MaxUint64, HasSeq: true, Payload: []byte{}}},
		{"ack without ack_seq", `{"type": "ACK"}`,
			core.Packet{Type: core.TypeAck}},
		{"ack with payload", `{"type": "ACK", "ack_seq": 2, "payload": "AA=="}`,
			core.Packet{Type: core.TypeAck, AckSeq: 2, HasAckSeq: true, Payload: []byte{0}}},
		// "v", "nick" and "suites" were unknown fields here before version 2
		// made them known (and strict); the unknown ones keep their shapes.
		{"unknown fields", `{"type": "KEY_REQ", "v": 2, "nick": "ann", "offer": ["a", {"b": [1, {"}": "]"}]}], "x": null, "payload": "AA==", "z": -1.5e3, "t": true}`,
			core.Packet{Type: core.TypeKeyReq, Payload: []byte{0}, Version: 2, Nick: "ann"}},
		{"unknown field duplicated", `{"type": "ACK", "w": 1, "w": 2}`,
			core.Packet{Type: core.TypeAck}},
		{"escaped key", `{"t\u0079pe": "ACK", "ack_s\u0065q": 4}`,
			core.Packet{Type: core.TypeAck, AckSeq: 4, HasAckSeq: true}},
		{"escaped type", `{"type": "D\u0041TA", "payload": "AA=="}`,
			core.Packet{Type: core.TypeData, Payload: []byte{0}}},
		{"escaped payload", `{"type": "DATA", "payload": "\/w\u003d="}`,
			core.Packet{Type: core.TypeData, Payload: []byte{0xff}}},
		{"escaped quote in unknown", `{"x": "a\"}b\\", "type": "ACK"}`,
			core.Packet{Type: core.TypeAck}},
		{"non-ascii unknown", `{"note": "héllo 世界 🌍", "type": "ACK"}`,
			core.Packet{Type: core.TypeAck}},
		{"3000-byte payload", `{"type": "DATA", "seq": 1, "payload": "` + bigB64 + `"}`,
			core.Packet{Type: core.TypeData, Seq: 1, HasSeq: true, Payload: big}},
	})
}

// acceptCase is a datagram Decode must read, and the packet it must read.
type acceptCase struct {
	name string
	in   string
	want core.Packet
}

// testDecodeAccepts decodes each case in a subtest of its name.
func testDecodeAccepts(t *testing.T, tests []acceptCase) {
	t.Helper()
	var c json.Codec
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !codectest.SamePacket(got, &tt.want) {
				t.Fatalf("Decode = %+v\nwant     %+v", got, &tt.want)
			}
		})
	}
}

// TestDecodeDoesNotAlias: the engine reuses its read buffer, so the packet
// must survive the buffer being overwritten.
func TestDecodeDoesNotAlias(t *testing.T) {
	var c json.Codec
	for _, in := range []string{
		`{"type": "DATA", "seq": 1, "payload": "AQIDBAUGBwg="}`,
		`{"type": "DATA", "seq": 1, "payload": "AQID\u0042AUGBwg="}`, // escaped path
	} {
		buf := []byte(in)
		p, err := c.Decode(buf)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Clone(p.Payload)
		for i := range buf {
			buf[i] = 'A'
		}
		if !bytes.Equal(p.Payload, want) {
			t.Fatalf("payload changed with the input buffer: %x", p.Payload)
		}
	}
}

// randomPacket draws a packet of any encodable shape.
func randomPacket(rng *rand.Rand) *core.Packet {
	types := []core.PacketType{core.TypeKeyReq, core.TypeKeyRep, core.TypeData, core.TypeAck}
	p := &core.Packet{Type: types[rng.IntN(len(types))]}
	randUint := func() uint64 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return math.MaxUint64
		case 2:
			return uint64(rng.IntN(1000))
		}
		return rng.Uint64()
	}
	if rng.IntN(2) == 0 {
		p.Seq, p.HasSeq = randUint(), true
	}
	if rng.IntN(2) == 0 {
		p.AckSeq, p.HasAckSeq = randUint(), true
	}
	if n := rng.IntN(4); n > 0 {
		size := []int{0, rng.IntN(4), rng.IntN(100), rng.IntN(3000)}[n]
		p.Payload = make([]byte, size)
		for i := range p.Payload {
			p.Payload[i] = byte(rng.Uint32())
		}
	}
	return p
}

// TestRoundTrip: for many packets, Decode(Append(p)) == p, the encoding is
// valid JSON, and it is stable (a second round gives the same bytes).
func TestRoundTrip(t *testing.T) { roundTrip(t, rand.New(rand.NewPCG(3, 4)), randomPacket) }

// roundTrip checks 5000 packets of gen as TestRoundTrip says.
func roundTrip(t *testing.T, rng *rand.Rand, gen func(*rand.Rand) *core.Packet) {
	t.Helper()
	var c json.Codec
	for i := range 5000 {
		p := gen(rng)
		enc, err := c.Append(nil, p)
		if err != nil {
			t.Fatalf("#%d Append(%v): %v", i, p, err)
		}
		if !stdjson.Valid(enc) {
			t.Fatalf("#%d not valid JSON: %s", i, enc)
		}
		got, err := c.Decode(enc)
		if err != nil {
			t.Fatalf("#%d Decode(%s): %v", i, enc, err)
		}
		if !codectest.SamePacket(got, p) {
			t.Fatalf("#%d round trip: got %v, want %v", i, got, p)
		}
		enc2, err := c.Append(nil, got)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("#%d re-encoding differs:\n%s\n%s (%v)", i, enc, enc2, err)
		}
	}
}

// TestConcurrent: the codec is shared by every goroutine of an engine (the
// conformance suite's check).
func TestConcurrent(t *testing.T) { codectest.TestConcurrent(t, json.Codec{}) }

// TestCodec runs the conformance suite every codec passes.
func TestCodec(t *testing.T) { codectest.TestCodec(t, json.Codec{}) }
