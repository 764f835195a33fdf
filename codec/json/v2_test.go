package json_test

import (
	"bytes"
	"encoding/base64"
	stdjson "encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
)

// The tests of the version 2 packet fields and types. The version 1 tests in
// json_test.go pin that a packet without them is encoded as before.

const sid = 0x0123456789abcdef // 81985529216486895: a sid wider than 53 bits

// v2Forms pins the exact bytes of the version 2 packets: field order, the
// separators of json.dumps, and when payload is written.
var v2Forms = []struct {
	name string
	p    core.Packet
	want string
}{
	{"key_req", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "alice",
		Suites: []string{"x25519-chacha20-poly1305", "rsa-aes-cbc-hmac"}, Payload: []byte("pub")},
		`{"type": "KEY_REQ", "v": 2, "nick": "alice", "suites": ["x25519-chacha20-poly1305", "rsa-aes-cbc-hmac"], "payload": "cHVi"}`},
	{"key_rep", core.Packet{Type: core.TypeKeyRep, Version: 2, Session: sid, Nick: "alice", Suite: "x25519-chacha20-poly1305",
		ServerKey: []byte{1, 2, 3}, Sig: []byte{4, 5, 6}, Payload: []byte("rep")},
		`{"type": "KEY_REP", "v": 2, "sid": 81985529216486895, "nick": "alice", "suite": "x25519-chacha20-poly1305", "server_key": "AQID", "sig": "BAUG", "payload": "cmVw"}`},
	{"data", core.Packet{Type: core.TypeData, Session: sid, Seq: 4, HasSeq: true, Payload: []byte("sealed")},
		`{"type": "DATA", "sid": 81985529216486895, "seq": 4, "payload": "c2VhbGVk"}`},
	{"data empty payload", core.Packet{Type: core.TypeData, Session: 1, Seq: 0, HasSeq: true},
		`{"type": "DATA", "sid": 1, "seq": 0, "payload": ""}`},
	{"ack", core.Packet{Type: core.TypeAck, Session: sid, AckSeq: 4, HasAckSeq: true, Payload: []byte("tag")},
		`{"type": "ACK", "sid": 81985529216486895, "ack_seq": 4, "payload": "dGFn"}`},
	{"ack with cum", core.Packet{Type: core.TypeAck, Session: sid, AckSeq: 4, HasAckSeq: true, Cum: 3, HasCum: true, Payload: []byte("tag")},
		`{"type": "ACK", "sid": 81985529216486895, "ack_seq": 4, "cum": 3, "payload": "dGFn"}`},
	{"ping", core.Packet{Type: core.TypePing, Session: sid, Seq: 9, HasSeq: true, Payload: []byte{0xff, 0xfe}},
		`{"type": "PING", "sid": 81985529216486895, "seq": 9, "payload": "//4="}`},
	{"pong", core.Packet{Type: core.TypePong, Session: sid, Payload: []byte{0xff, 0xfe}},
		`{"type": "PONG", "sid": 81985529216486895, "payload": "//4="}`},
	{"bye", core.Packet{Type: core.TypeBye, Session: 2, Payload: []byte("x")},
		`{"type": "BYE", "sid": 2, "payload": "eA=="}`},
	{"ping no payload", core.Packet{Type: core.TypePing, Session: 1, Payload: []byte{}}, `{"type": "PING", "sid": 1}`},
	{"bye bare", core.Packet{Type: core.TypeBye}, `{"type": "BYE"}`},
	{"pong bare", core.Packet{Type: core.TypePong}, `{"type": "PONG"}`},
	{"max v and sid", core.Packet{Type: core.TypeKeyReq, Version: 255, Session: math.MaxUint64},
		`{"type": "KEY_REQ", "v": 255, "sid": 18446744073709551615, "payload": ""}`},
	{"every field", core.Packet{Type: core.TypeKeyRep, Version: 2, Session: 7, Seq: 1, HasSeq: true, AckSeq: 2, HasAckSeq: true,
		Nick: "n", Suites: []string{"a", "b"}, Suite: "a", ServerKey: []byte{1}, Sig: []byte{2}, Payload: []byte{3}},
		`{"type": "KEY_REP", "v": 2, "sid": 7, "seq": 1, "ack_seq": 2, "nick": "n", "suites": ["a", "b"], "suite": "a", "server_key": "AQ==", "sig": "Ag==", "payload": "Aw=="}`},
	{"one suite", core.Packet{Type: core.TypeKeyReq, Version: 2, Suites: []string{"s"}, Payload: []byte{0}},
		`{"type": "KEY_REQ", "v": 2, "suites": ["s"], "payload": "AA=="}`},
	// Empty v2 fields are not written: this is a version 1 packet.
	{"empty v2 fields", core.Packet{Type: core.TypeKeyReq, Suites: []string{}, ServerKey: []byte{}, Sig: []byte{}, Payload: []byte("hi")},
		`{"type": "KEY_REQ", "payload": "aGk="}`},
	// Quote, backslash and control characters are escaped (controls as
	// \u00XX); DEL and non-ASCII go out raw.
	{"nick escaped", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "a\"b\\c\x00\x01\n\t\x1b\x7fé世🌍", Payload: []byte{0}},
		`{"type": "KEY_REQ", "v": 2, "nick": "a\"b\\c\u0000\u0001\u000a\u0009\u001b` + "\x7f" + `é世🌍", "payload": "AA=="}`},
	{"suites escaped", core.Packet{Type: core.TypeKeyReq, Suites: []string{`"`, `\`, "\u2028"}, Payload: []byte{0}},
		`{"type": "KEY_REQ", "suites": ["\"", "\\", "` + "\u2028" + `"], "payload": "AA=="}`},
}

func TestAppendV2Forms(t *testing.T) {
	var c json.Codec
	for _, tt := range v2Forms {
		t.Run(tt.name, func(t *testing.T) {
			got := appendForm(t, &tt.p, tt.want)
			// encoding/json, a parser the codec did not write, reads the
			// same values.
			var m struct {
				Type      string
				V         uint8
				Sid       uint64
				Nick      string
				Suites    []string
				Suite     string
				ServerKey []byte `json:"server_key"`
				Sig       []byte
			}
			if err := stdjson.Unmarshal(got, &m); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			if m.Type != tt.p.Type.String() || m.V != tt.p.Version || m.Sid != tt.p.Session || m.Nick != tt.p.Nick ||
				strings.Join(m.Suites, ",") != strings.Join(tt.p.Suites, ",") || m.Suite != tt.p.Suite ||
				!bytes.Equal(m.ServerKey, tt.p.ServerKey) || !bytes.Equal(m.Sig, tt.p.Sig) {
				t.Fatalf("encoding/json reads %+v", m)
			}
			// And the codec reads back what it wrote.
			back, err := c.Decode(got)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !codectest.SamePacket(back, &tt.p) {
				t.Fatalf("Decode = %+v\nwant     %+v", back, &tt.p)
			}
		})
	}
}

// TestAppendRejectsV2: what Decode would refuse, Append refuses, leaving dst
// as it was, so the sender learns it and the receiver never has to.
func TestAppendRejectsV2(t *testing.T) {
	long := strings.Repeat("n", 65)
	tests := []struct {
		name string
		p    core.Packet
		want string
	}{
		{"nick too long", core.Packet{Type: core.TypeKeyReq, Nick: long}, `"nick" of 65 bytes`},
		{"nick multibyte too long", core.Packet{Type: core.TypeKeyReq, Nick: strings.Repeat("é", 33)}, `"nick" of 66 bytes`},
		{"nick not utf8", core.Packet{Type: core.TypeKeyReq, Nick: "a\xffb"}, `"nick": not valid UTF-8`},
		{"17 suites", core.Packet{Type: core.TypeKeyReq, Suites: make([]string, 17)}, "17 suites, at most 16"},
		{"suite entry too long", core.Packet{Type: core.TypeKeyReq, Suites: []string{"a", long}}, `"suites"[1] of 65 bytes`},
		{"suite entry not utf8", core.Packet{Type: core.TypeKeyReq, Suites: []string{"\xc3"}}, `"suites"[0]: not valid UTF-8`},
		{"suite too long", core.Packet{Type: core.TypeKeyRep, Suite: long}, `"suite" of 65 bytes`},
		{"suite not utf8", core.Packet{Type: core.TypeKeyRep, Suite: "\xed\xa0\x80"}, `"suite": not valid UTF-8`},
		{"server_key too long", core.Packet{Type: core.TypeKeyRep, ServerKey: make([]byte, 257)}, `"server_key" of 257 bytes`},
		{"sig too long", core.Packet{Type: core.TypeKeyRep, Sig: make([]byte, 257)}, `"sig" of 257 bytes`},
		{"cookie too long", core.Packet{Type: core.TypeKeyReq, Cookie: make([]byte, 257)}, `"cookie" of 257 bytes`},
		{"resume too short", core.Packet{Type: core.TypeKeyReq, Resume: make([]byte, core.ResumeLen-1)}, `"resume" of 55 bytes, want 56 or none`},
		{"resume too long", core.Packet{Type: core.TypeKeyReq, Resume: make([]byte, core.ResumeLen+1)}, `"resume" of 57 bytes, want 56 or none`},
		{"type past COOKIE", core.Packet{Type: core.TypeCookie + 1}, "cannot encode packet type"},
	}
	var c json.Codec
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Append([]byte("keep"), &tt.p)
			if err == nil || !strings.HasPrefix(err.Error(), "codec/json: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a codec/json error mentioning %q", err, tt.want)
			}
			if string(got) != "keep" {
				t.Errorf("Append changed dst to %q", got)
			}
		})
	}
	// The bounds themselves are fine.
	ok := core.Packet{Type: core.TypeKeyRep, Nick: long[:64], Suites: make([]string, 16), Suite: long[:64],
		ServerKey: make([]byte, 256), Sig: make([]byte, 256)}
	ok.Suites[15] = long[:64]
	if _, err := c.Append(nil, &ok); err != nil {
		t.Errorf("Append at the bounds: %v", err)
	}
}

// hostileV2Cases are datagrams that are bad only in a version 2 field; each
// error must name the field. They run with the version 1 ones in
// TestDecodeRejectsHostile and seed FuzzDecode.
func hostileV2Cases() []hostileCase {
	const ok = `"payload": "AA=="`
	req := func(fields string) string { return `{"type": "KEY_REQ", ` + fields + `, ` + ok + `}` }
	suites := func(n int) string {
		s := make([]string, n)
		for i := range s {
			s[i] = strconv.Quote("s" + strconv.Itoa(i))
		}
		return `"suites": [` + strings.Join(s, ", ") + `]`
	}
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	n65 := strings.Repeat("n", 65)
	return []hostileCase{
		{"type ping lowercase", `{"type": "ping"}`, "unknown packet type"},
		{"type bye padded", `{"type": "BYE "}`, "unknown packet type"},

		{"v string", req(`"v": "2"`), `"v" must be a non-negative integer, got a string`},
		{"v 256", req(`"v": 256`), `"v" must be at most 255, got "256"`},
		{"v huge", req(`"v": 18446744073709551616`), `"v" out of range`},
		{"v negative", req(`"v": -1`), `"v" must be a non-negative integer, got negative`},
		{"v float", req(`"v": 2.0`), `"v" must be an integer`},
		{"v null", req(`"v": null`), `"v" must be a non-negative integer, got null`},
		{"v bool", req(`"v": true`), `"v" must be a non-negative integer, got a boolean`},

		{"sid string", `{"type": "DATA", "sid": "1", ` + ok + `}`, `"sid" must be a non-negative integer, got a string`},
		{"sid 2^64", `{"type": "DATA", "sid": 18446744073709551616, ` + ok + `}`, `"sid" out of range for uint64`},
		{"sid negative", `{"type": "PING", "sid": -5}`, `"sid" must be a non-negative integer, got negative`},
		{"sid exponent", `{"type": "PONG", "sid": 1e3}`, `"sid" must be an integer`},
		{"sid float", `{"type": "BYE", "sid": 1.5}`, `"sid" must be an integer`},
		{"sid object", `{"type": "BYE", "sid": {}}`, `"sid" must be a non-negative integer, got an object`},
		{"sid array", `{"type": "ACK", "sid": [1]}`, `"sid" must be a non-negative integer, got an array`},

		{"nick number", req(`"nick": 5`), `"nick" must be a string, got a number`},
		{"nick null", req(`"nick": null`), `"nick" must be a string, got null`},
		{"nick array", req(`"nick": ["ann"]`), `"nick" must be a string, got an array`},
		{"nick too long", req(`"nick": "` + n65 + `"`), `"nick" is 65 bytes, at most 64`},
		{"nick multibyte too long", req(`"nick": "` + strings.Repeat("é", 33) + `"`), `"nick" is 66 bytes, at most 64`},
		{"nick escaped too long", req(`"nick": "` + strings.Repeat(`\u00e9`, 33) + `"`), `"nick" is 66 bytes, at most 64`},
		{"nick lone high surrogate", req(`"nick": "a\ud800b"`), `"nick" holds an unpaired UTF-16 surrogate`},
		{"nick lone high surrogate at end", req(`"nick": "a\ud83d"`), `"nick" holds an unpaired UTF-16 surrogate`},
		{"nick lone low surrogate", req(`"nick": "\udc00"`), `"nick" holds an unpaired UTF-16 surrogate`},
		{"nick reversed pair", req(`"nick": "\ude00\ud83d"`), `"nick" holds an unpaired UTF-16 surrogate`},
		{"nick two highs", req(`"nick": "\ud83d\ud83d"`), `"nick" holds an unpaired UTF-16 surrogate`},
		{"nick high then escaped backslash", req(`"nick": "\ud83d\\ude00"`), `"nick" holds an unpaired UTF-16 surrogate`},

		{"suites string", req(`"suites": "rsa-aes-cbc-hmac"`), `"suites" must be an array of strings, got a string`},
		{"suites object", req(`"suites": {"a": 1}`), `"suites" must be an array of strings, got an object`},
		{"suites null", req(`"suites": null`), `"suites" must be an array of strings, got null`},
		{"suites number", req(`"suites": 1`), `"suites" must be an array of strings, got a number`},
		{"suites with number", req(`"suites": ["a", 1]`), `"suites"[1] must be a string, got a number`},
		{"suites with null", req(`"suites": [null]`), `"suites"[0] must be a string, got null`},
		{"suites nested", req(`"suites": [["a"]]`), `"suites"[0] must be a string, got an array`},
		{"suites with object", req(`"suites": ["a", {"b": "c"}]`), `"suites"[1] must be a string, got an object`},
		{"suites 17", req(suites(17)), `"suites" has more than 16 entries`},
		{"suites 1000", req(suites(1000)), `"suites" has more than 16 entries`},
		{"suites entry too long", req(`"suites": ["a", "` + n65 + `"]`), `"suites"[1] is 65 bytes, at most 64`},
		{"suites entry lone surrogate", req(`"suites": ["\udfff"]`), `"suites"[0] holds an unpaired UTF-16 surrogate`},

		{"suite number", req(`"suite": 1`), `"suite" must be a string, got a number`},
		{"suite array", req(`"suite": ["a"]`), `"suite" must be a string, got an array`},
		{"suite too long", req(`"suite": "` + n65 + `"`), `"suite" is 65 bytes, at most 64`},

		{"server_key bad base64", req(`"server_key": "not base64!"`), `"server_key" is not valid padded standard base64`},
		{"server_key unpadded", req(`"server_key": "AQI"`), `"server_key" is not valid padded standard base64`},
		{"server_key urlsafe", req(`"server_key": "-_8="`), `"server_key" is not valid padded standard base64`},
		{"server_key newline", req(`"server_key": "AQID\nAQID"`), `"server_key" contains a line break`},
		{"server_key number", req(`"server_key": 5`), `"server_key" must be a base64 string, got a number`},
		{"server_key array", req(`"server_key": [1, 2]`), `"server_key" must be a base64 string, got an array`},
		{"server_key 257 bytes", req(`"server_key": "` + b64(257) + `"`), `"server_key" is 257 bytes, at most 256`},
		{"server_key 258 bytes", req(`"server_key": "` + b64(258) + `"`), `"server_key" is 258 bytes, at most 256`},
		{"server_key huge", req(`"server_key": "` + b64(3000) + `"`), `"server_key" is longer than 256 bytes`},
		{"sig bad base64", req(`"sig": "%%%"`), `"sig" is not valid padded standard base64`},
		{"sig null", req(`"sig": null`), `"sig" must be a base64 string, got null`},
		{"sig 257 bytes", req(`"sig": "` + b64(257) + `"`), `"sig" is 257 bytes, at most 256`},
		{"resume 55 bytes", req(`"resume": "` + b64(core.ResumeLen-1) + `"`), `"resume" is 55 bytes, want 56`},
		{"resume 57 bytes", req(`"resume": "` + b64(core.ResumeLen+1) + `"`), `"resume" is 57 bytes, want 56`},
		{"resume 1 byte", req(`"resume": "AQ=="`), `"resume" is 1 bytes, want 56`},
		{"resume huge", req(`"resume": "` + b64(3000) + `"`), `"resume" is longer than 256 bytes`},
		{"resume number", req(`"resume": 5`), `"resume" must be a base64 string, got a number`},
		{"duplicate resume", req(`"resume": "", "resume": ""`), `duplicate "resume"`},
		{"client_key 257 bytes", req(`"client_key": "` + b64(257) + `"`), `"client_key" is 257 bytes, at most 256`},
		{"client_key number", req(`"client_key": 5`), `"client_key" must be a base64 string, got a number`},
		{"client_sig bad base64", req(`"client_sig": "not base64!"`), `"client_sig" is not valid padded standard base64`},
		{"duplicate client_sig", req(`"client_sig": "", "client_sig": ""`), `duplicate "client_sig"`},

		{"duplicate v", req(`"v": 2, "v": 2`), `duplicate "v"`},
		{"duplicate sid", `{"type": "PING", "sid": 1, "sid": 2}`, `duplicate "sid"`},
		{"duplicate nick", req(`"nick": "a", "nick": "b"`), `duplicate "nick"`},
		{"duplicate suites", req(`"suites": [], "suites": ["a"]`), `duplicate "suites"`},
		{"duplicate suite", req(`"suite": "a", "suite": "a"`), `duplicate "suite"`},
		{"duplicate server_key", req(`"server_key": "AQ==", "server_key": "AQ=="`), `duplicate "server_key"`},
		{"duplicate sig", req(`"sig": "AQ==", "s\u0069g": "AQ=="`), `duplicate "sig"`},
		{"duplicate payload ping", `{"type": "PING", "payload": "", "payload": ""}`, `duplicate "payload"`},
		// A duplicate is refused as such, before any value is judged: the
		// first value alone is not what Python would read.
		{"duplicate after bad payload", `{"type":"DATA","payload":"=","payload":""}`, `duplicate "payload"`},
		{"duplicate after bad type", `{"type": "NOPE", "type": "DATA", ` + ok + `}`, `duplicate "type"`},
		{"duplicate after bad nick", req(`"nick": 5, "nick": "ann"`), `duplicate "nick"`},
	}
}

// TestDecodeAcceptsV2 covers legal version 2 forms, including those our
// encoder never writes.
func TestDecodeAcceptsV2(t *testing.T) {
	n64 := strings.Repeat("n", 64)
	sixteen := make([]string, 16)
	quoted := make([]string, 16)
	for i := range sixteen {
		sixteen[i] = n64
		quoted[i] = `"` + n64 + `"`
	}
	key := make([]byte, 256)
	for i := range key {
		key[i] = byte(i)
	}
	keyB64 := base64.StdEncoding.EncodeToString(key)
	testDecodeAccepts(t, []acceptCase{
		{"compact", `{"type":"KEY_REQ","v":2,"nick":"ann","suites":["a","b"],"payload":"AA=="}`,
			core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "ann", Suites: []string{"a", "b"}, Payload: []byte{0}}},
		{"reordered", `{"payload": "AA==", "sig": "Ag==", "suite": "s", "sid": 3, "type": "KEY_REP", "server_key": "AQ==", "v": 2}`,
			core.Packet{Type: core.TypeKeyRep, Version: 2, Session: 3, Suite: "s", ServerKey: []byte{1}, Sig: []byte{2}, Payload: []byte{0}}},
		{"whitespace in suites", "{\"type\": \"KEY_REQ\", \"suites\" : [ \"a\" ,\n\"b\" ] , \"payload\": \"\"}",
			core.Packet{Type: core.TypeKeyReq, Suites: []string{"a", "b"}, Payload: []byte{}}},
		{"empty suites", `{"type": "KEY_REQ", "suites": [ ], "payload": ""}`,
			core.Packet{Type: core.TypeKeyReq, Payload: []byte{}}},
		{"zero v and sid", `{"type": "DATA", "v": 0, "sid": 0, "payload": ""}`,
			core.Packet{Type: core.TypeData, Payload: []byte{}}},
		{"empty strings", `{"type": "KEY_REP", "nick": "", "suite": "", "server_key": "", "sig": "", "payload": ""}`,
			core.Packet{Type: core.TypeKeyRep, Payload: []byte{}}},
		{"max v and sid", `{"type": "PING", "v": 255, "sid": 18446744073709551615}`,
			core.Packet{Type: core.TypePing, Version: 255, Session: math.MaxUint64}},
		{"ping without payload", `{"type": "PING", "sid": 1, "seq": 2}`,
			core.Packet{Type: core.TypePing, Session: 1, Seq: 2, HasSeq: true}},
		{"pong with payload", `{"type": "PONG", "sid": 1, "payload": "AQID"}`,
			core.Packet{Type: core.TypePong, Session: 1, Payload: []byte{1, 2, 3}}},
		{"bye", `{"type": "BYE"}`, core.Packet{Type: core.TypeBye}},
		{"escaped type", `{"type": "\u0042YE"}`, core.Packet{Type: core.TypeBye}},
		{"nick escapes", `{"type": "KEY_REQ", "nick": "a\"b\\c\/d\b\f\n\r\t\u0000\u00e9\u4e16\ud83c\udf0D", "payload": ""}`,
			core.Packet{Type: core.TypeKeyReq, Nick: "a\"b\\c/d\b\f\n\r\t\x00é世🌍", Payload: []byte{}}},
		{"nick raw unicode", `{"type": "KEY_REQ", "nick": "héllo 世界 🌍", "payload": ""}`,
			core.Packet{Type: core.TypeKeyReq, Nick: "héllo 世界 🌍", Payload: []byte{}}},
		{"nick 64 bytes", `{"type": "KEY_REQ", "nick": "` + n64 + `", "payload": ""}`,
			core.Packet{Type: core.TypeKeyReq, Nick: n64, Payload: []byte{}}},
		{"nick 64 bytes escaped", `{"type": "KEY_REQ", "nick": "` + strings.Repeat(`\u00e9`, 32) + `", "payload": ""}`,
			core.Packet{Type: core.TypeKeyReq, Nick: strings.Repeat("é", 32), Payload: []byte{}}},
		{"16 suites of 64 bytes", `{"type": "KEY_REQ", "suites": [` + strings.Join(quoted, ", ") + `], "payload": ""}`,
			core.Packet{Type: core.TypeKeyReq, Suites: sixteen, Payload: []byte{}}},
		{"suites escaped", `{"type": "KEY_REQ", "suites": ["a\"]", "\\", "\u005d"], "payload": ""}`,
			core.Packet{Type: core.TypeKeyReq, Suites: []string{`a"]`, `\`, "]"}, Payload: []byte{}}},
		{"256-byte key and sig", `{"type": "KEY_REP", "server_key": "` + keyB64 + `", "sig": "` + keyB64 + `", "payload": ""}`,
			core.Packet{Type: core.TypeKeyRep, ServerKey: key, Sig: key, Payload: []byte{}}},
		{"escaped base64", `{"type": "KEY_REP", "server_key": "\/w==", "payload": ""}`,
			core.Packet{Type: core.TypeKeyRep, ServerKey: []byte{0xff}, Payload: []byte{}}},
		{"unknown v3 field", `{"type": "DATA", "sid": 1, "v3": {"suites": 5, "v": "x"}, "payload": ""}`,
			core.Packet{Type: core.TypeData, Session: 1, Payload: []byte{}}},
	})
}

// TestDecodeDoesNotAliasV2: the strings and byte fields survive the read
// buffer being overwritten.
func TestDecodeDoesNotAliasV2(t *testing.T) {
	var c json.Codec
	buf := []byte(`{"type": "KEY_REP", "nick": "ann", "suites": ["a", "b\u0062"], "suite": "s", "server_key": "AQID", "sig": "BAUG", "payload": "AA=="}`)
	p, err := c.Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := core.Packet{Type: core.TypeKeyRep, Nick: "ann", Suites: []string{"a", "bb"}, Suite: "s",
		ServerKey: []byte{1, 2, 3}, Sig: []byte{4, 5, 6}, Payload: []byte{0}}
	for i := range buf {
		buf[i] = 'A'
	}
	if !codectest.SamePacket(p, &want) {
		t.Fatalf("packet changed with the input buffer: %+v", p)
	}
}

// randomV2Packet draws a packet of any encodable shape, version 2 fields
// and types included.
func randomV2Packet(rng *rand.Rand) *core.Packet {
	p := randomPacket(rng)
	p.Type = core.PacketType(1 + rng.IntN(int(core.TypeBye)))
	randBytes := func(max int) []byte {
		b := make([]byte, rng.IntN(max+1))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	// Strings from an alphabet with everything the escaper handles.
	alphabet := []rune{'a', 'Z', '0', '-', '"', '\\', '/', 0, 1, '\n', 0x1f, 0x7f, 'é', '世', '🌍', 0x2028, 0xfffd}
	randString := func(maxBytes int) string {
		var b strings.Builder
		for range rng.IntN(20) {
			r := alphabet[rng.IntN(len(alphabet))]
			if b.Len()+len(string(r)) > maxBytes {
				break
			}
			b.WriteRune(r)
		}
		return b.String()
	}
	if rng.IntN(2) == 0 {
		p.Version = uint8(rng.Uint32())
	}
	if rng.IntN(2) == 0 {
		p.Session = rng.Uint64()
	}
	if rng.IntN(2) == 0 {
		p.Nick = randString(64)
	}
	if rng.IntN(2) == 0 {
		for range rng.IntN(17) {
			p.Suites = append(p.Suites, randString(64))
		}
	}
	if rng.IntN(2) == 0 {
		p.Suite = randString(64)
	}
	if rng.IntN(2) == 0 {
		p.ServerKey = randBytes(256)
	}
	if rng.IntN(2) == 0 {
		p.Sig = randBytes(256)
	}
	return p
}

// TestRoundTripV2 is TestRoundTrip over version 2 packets.
func TestRoundTripV2(t *testing.T) { roundTrip(t, rand.New(rand.NewPCG(5, 6)), randomV2Packet) }

// TestDecodeTo: decoding into a reused packet gives what Decode gives.
func TestDecodeTo(t *testing.T) {
	var ps []*core.Packet
	for _, f := range v2Forms {
		ps = append(ps, &f.p)
	}
	codectest.TestDecodeTo(t, json.Codec{}, json.Codec{}, ps)
}
