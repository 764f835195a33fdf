package json_test

import (
	"bytes"
	stdjson "encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
)

// ts is 2025-11-28 12:00:00.123 UTC as the wire carries it.
const ts = 1764331200123

var tsTime = time.UnixMilli(ts).UTC()

// messageForms pins the exact bytes of the inner message.
var messageForms = []struct {
	name string
	m    core.Message
	want string
}{
	{"private", core.Message{Kind: core.KindPrivate, ID: 7, From: "alice", To: "bob", Text: "hi", Time: tsTime},
		`{"kind": "private", "id": 7, "from": "alice", "to": "bob", "text": "hi", "ts": 1764331200123}`},
	{"chat", core.Message{Kind: core.KindChat, ID: 7, From: "alice", Text: "hi", Time: tsTime},
		`{"kind": "chat", "id": 7, "from": "alice", "text": "hi", "ts": 1764331200123}`},
	{"system no id no time", core.Message{Kind: core.KindSystem, From: core.SystemSender, Text: "bob joined"},
		`{"kind": "system", "from": "server", "text": "bob joined"}`},
	{"empty text and from", core.Message{Kind: core.KindChat}, `{"kind": "chat", "from": "", "text": ""}`},
	{"error", core.Message{Kind: core.KindError, From: "server", Text: "no such user: carol", Time: time.UnixMilli(0)},
		`{"kind": "error", "from": "server", "text": "no such user: carol", "ts": 0}`},
	{"action", core.Message{Kind: core.KindAction, ID: math.MaxUint64, From: "203.0.113.5:40000", Text: "waves"},
		`{"kind": "action", "id": 18446744073709551615, "from": "203.0.113.5:40000", "text": "waves"}`},
	{"history", core.Message{Kind: core.KindHistory, ID: 1, From: "bob", Text: "earlier", Time: tsTime},
		`{"kind": "history", "id": 1, "from": "bob", "text": "earlier", "ts": 1764331200123}`},
	{"unicode and escapes", core.Message{Kind: core.KindChat, From: "zoë", Text: "a \"quote\" \\ tab\tnl\n\x00\x1b[31m é 世界 🌍\u2028"},
		`{"kind": "chat", "from": "zoë", "text": "a \"quote\" \\ tab\u0009nl\u000a\u0000\u001b[31m é 世界 🌍` + "\u2028" + `"}`},
	{"origin not on the wire", core.Message{Kind: core.KindChat, From: "a", Text: "b", Origin: 42},
		`{"kind": "chat", "from": "a", "text": "b"}`},
}

func TestAppendMessageForms(t *testing.T) {
	var c json.Codec
	for _, tt := range messageForms {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.AppendMessage([]byte("prefix:"), &tt.m)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := bytes.CutPrefix(got, []byte("prefix:"))
			if !ok {
				t.Fatalf("AppendMessage clobbered dst: %q", got)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			// encoding/json reads the same values.
			var m struct {
				Kind, From, To, Text string
				ID                   uint64
				TS                   *int64
			}
			if err := stdjson.Unmarshal(got, &m); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			if m.Kind != tt.m.Kind.String() || m.ID != tt.m.ID || m.From != tt.m.From || m.To != tt.m.To ||
				m.Text != tt.m.Text || (m.TS == nil) != tt.m.Time.IsZero() || m.TS != nil && *m.TS != tt.m.Time.UnixMilli() {
				t.Fatalf("encoding/json reads %+v", m)
			}
			back, err := c.DecodeMessage(got)
			if err != nil {
				t.Fatalf("DecodeMessage: %v", err)
			}
			if !codectest.SameMessage(back, &tt.m) || back.Origin != 0 {
				t.Fatalf("DecodeMessage = %+v\nwant            %+v", back, &tt.m)
			}
		})
	}
}

// TestMessageRoundTrip: every kind, with and without the optional fields.
func TestMessageRoundTrip(t *testing.T) {
	var c json.Codec
	texts := []string{"", "hi", "ünïcödé 世界 🌍", "\x00\x1f\"\\/\n", strings.Repeat("x", 3000)}
	for k := core.KindChat; k <= core.KindSession; k++ {
		for i, text := range texts {
			m := &core.Message{Kind: k, ID: uint64(i), From: "alice", Text: text}
			if i%2 == 0 {
				m.To, m.Time = "bob", tsTime
			}
			enc, err := c.AppendMessage(nil, m)
			if err != nil {
				t.Fatalf("%v/%d: AppendMessage: %v", k, i, err)
			}
			got, err := c.DecodeMessage(enc)
			if err != nil {
				t.Fatalf("%v/%d: DecodeMessage(%s): %v", k, i, enc, err)
			}
			if !codectest.SameMessage(got, m) {
				t.Fatalf("%v/%d: round trip: %+v became %+v", k, i, m, got)
			}
			if got.Kind.String() != k.String() || !strings.Contains(string(enc), `"kind": "`+k.String()+`"`) {
				t.Fatalf("%v/%d: kind written as %s", k, i, enc)
			}
		}
	}
}

// TestMessageTime: ts is milliseconds and location-free; the decoded time is
// UTC, and the zero time stays zero.
func TestMessageTime(t *testing.T) {
	var c json.Codec
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"zero", time.Time{}, time.Time{}},
		{"zero in a zone", time.Time{}.In(paris), time.Time{}},
		{"epoch", time.UnixMilli(0), time.UnixMilli(0).UTC()},
		{"utc", tsTime, tsTime},
		{"other zone", tsTime.In(paris), tsTime},
		{"sub-millisecond truncated", tsTime.Add(999 * time.Microsecond), tsTime},
		{"max", time.UnixMilli(math.MaxInt64), time.UnixMilli(math.MaxInt64).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := c.AppendMessage(nil, &core.Message{Kind: core.KindChat, Text: "x", Time: tt.in})
			if err != nil {
				t.Fatal(err)
			}
			if tt.in.IsZero() == bytes.Contains(enc, []byte(`"ts"`)) {
				t.Fatalf("ts written %v for a zero time: %s", !tt.in.IsZero(), enc)
			}
			got, err := c.DecodeMessage(enc)
			if err != nil {
				t.Fatal(err)
			}
			if got.Time != tt.want { // == on purpose: UTC, exactly
				t.Fatalf("Time = %v (%v), want %v", got.Time, got.Time.Location(), tt.want)
			}
		})
	}
}

func TestAppendMessageRejects(t *testing.T) {
	long := strings.Repeat("n", 65)
	tests := []struct {
		name string
		m    *core.Message
		want string
	}{
		{"nil", nil, "nil message"},
		{"kind past session", &core.Message{Kind: core.KindSession + 1}, "message kind 7"},
		{"kind 255", &core.Message{Kind: 255}, "message kind 255"},
		{"from too long", &core.Message{From: long}, `"from" of 65 bytes`},
		{"to too long", &core.Message{To: long}, `"to" of 65 bytes`},
		{"from not utf8", &core.Message{From: "\xff"}, `"from": not valid UTF-8`},
		{"to not utf8", &core.Message{To: "b\xc3"}, `"to": not valid UTF-8`},
		{"text not utf8", &core.Message{Text: "ok \xed\xa0\x80"}, `"text": not valid UTF-8`},
		{"time before 1970", &core.Message{Time: time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)}, "message time"},
		{"time year 1 not zero", &core.Message{Time: time.Time{}.Add(time.Millisecond)}, "message time"},
	}
	var c json.Codec
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.AppendMessage([]byte("keep"), tt.m)
			if err == nil || !strings.HasPrefix(err.Error(), "codec/json: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a codec/json error mentioning %q", err, tt.want)
			}
			if string(got) != "keep" {
				t.Errorf("AppendMessage changed dst to %q", got)
			}
		})
	}
}

// TestDecodeMessageAccepts covers legal forms our encoder does not write.
func TestDecodeMessageAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want core.Message
	}{
		{"compact", `{"kind":"chat","from":"a","text":"b"}`, core.Message{Kind: core.KindChat, From: "a", Text: "b"}},
		{"reordered", `{"ts": 1764331200123, "text": "hi", "to": "bob", "from": "alice", "id": 7, "kind": "private"}`,
			core.Message{Kind: core.KindPrivate, ID: 7, From: "alice", To: "bob", Text: "hi", Time: tsTime}},
		{"no from", `{"kind": "system", "text": "x"}`, core.Message{Kind: core.KindSystem, Text: "x"}},
		{"empty to", `{"kind": "chat", "to": "", "text": ""}`, core.Message{Kind: core.KindChat}},
		{"zero id", `{"kind": "chat", "id": 0, "text": ""}`, core.Message{Kind: core.KindChat}},
		{"ts 0", `{"kind": "chat", "text": "", "ts": 0}`, core.Message{Kind: core.KindChat, Time: time.UnixMilli(0).UTC()}},
		{"ts max", `{"kind": "chat", "text": "", "ts": 9223372036854775807}`,
			core.Message{Kind: core.KindChat, Time: time.UnixMilli(math.MaxInt64).UTC()}},
		{"escaped kind and key", `{"k\u0069nd": "h\u0069story", "text": ""}`, core.Message{Kind: core.KindHistory}},
		{"escaped text", `{"kind": "chat", "text": "\u00e9\ud83c\udf0d\n\"\\\/"}`, core.Message{Kind: core.KindChat, Text: "é🌍\n\"\\/"}},
		{"unknown fields", `{"kind": "chat", "text": "x", "origin": 42, "reply_to": {"id": [1]}, "ts2": "x"}`,
			core.Message{Kind: core.KindChat, Text: "x"}},
		{"unknown field twice", `{"kind": "chat", "text": "x", "z": 1, "z": 2}`, core.Message{Kind: core.KindChat, Text: "x"}},
		{"whitespace", "\n { \"kind\" : \"action\" ,\t\"text\" : \"waves\" } \r\n", core.Message{Kind: core.KindAction, Text: "waves"}},
		{"64-byte names", `{"kind": "private", "from": "` + strings.Repeat("f", 64) + `", "to": "` + strings.Repeat("é", 32) + `", "text": ""}`,
			core.Message{Kind: core.KindPrivate, From: strings.Repeat("f", 64), To: strings.Repeat("é", 32)}},
	}
	var c json.Codec
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.DecodeMessage([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeMessage: %v", err)
			}
			if !codectest.SameMessage(got, &tt.want) || got.Origin != 0 {
				t.Fatalf("DecodeMessage = %+v\nwant            %+v", got, &tt.want)
			}
			if !got.Time.IsZero() && got.Time.Location() != time.UTC {
				t.Fatalf("Time not in UTC: %v", got.Time.Location())
			}
		})
	}
}

// hostileMessages are inner messages DecodeMessage must refuse, with a word
// its error must contain. They also seed FuzzDecodeMessage.
func hostileMessages() []hostileCase {
	n65 := strings.Repeat("n", 65)
	return []hostileCase{
		{"empty", "", "empty message"},
		{"not json", "hi", "not valid JSON"},
		{"v1 plaintext", "<alice> hi", "not valid JSON"},
		{"truncated", `{"kind": "chat", "text": "h`, "truncated"},
		{"trailing data", `{"kind": "chat", "text": "x"} x`, "after top-level value"},
		{"two objects", `{"kind": "chat", "text": "x"}{"kind": "chat", "text": "y"}`, "after top-level value"},
		{"invalid utf8", "{\"kind\": \"chat\", \"text\": \"\xff\"}", "message is not valid UTF-8"},
		{"array", `[{"kind": "chat", "text": "x"}]`, "message is not a JSON object but an array"},
		{"string", `"chat"`, "not a JSON object but a string"},
		{"null", `null`, "not a JSON object but null"},
		{"empty object", `{}`, `without "kind"`},
		{"no kind", `{"text": "x"}`, `without "kind"`},
		{"no text", `{"kind": "chat", "from": "a"}`, `without "text"`},
		{"kind unknown", `{"kind": "shout", "text": "x"}`, `unknown message kind "shout"`},
		{"kind unknown name", `{"kind": "unknown", "text": "x"}`, `unknown message kind "unknown"`},
		{"kind case", `{"kind": "Chat", "text": "x"}`, `unknown message kind "Chat"`},
		{"kind empty", `{"kind": "", "text": "x"}`, `unknown message kind ""`},
		{"kind long", `{"kind": "` + strings.Repeat("k", 1000) + `", "text": "x"}`, "unknown message kind"},
		{"kind number", `{"kind": 0, "text": "x"}`, `"kind" must be a string, got a number`},
		{"kind null", `{"kind": null, "text": "x"}`, `"kind" must be a string, got null`},
		{"kind lone surrogate", `{"kind": "\ud800", "text": "x"}`, `"kind" holds an unpaired UTF-16 surrogate`},
		{"text number", `{"kind": "chat", "text": 5}`, `"text" must be a string, got a number`},
		{"text null", `{"kind": "chat", "text": null}`, `"text" must be a string, got null`},
		{"text array", `{"kind": "chat", "text": ["x"]}`, `"text" must be a string, got an array`},
		{"text object", `{"kind": "chat", "text": {}}`, `"text" must be a string, got an object`},
		{"text lone surrogate", `{"kind": "chat", "text": "hi \udc00"}`, `"text" holds an unpaired UTF-16 surrogate`},
		{"text truncated pair", `{"kind": "chat", "text": "\ud83d"}`, `"text" holds an unpaired UTF-16 surrogate`},
		{"from too long", `{"kind": "chat", "from": "` + n65 + `", "text": ""}`, `"from" is 65 bytes, at most 64`},
		{"to too long", `{"kind": "private", "to": "` + strings.Repeat(`\u00e9`, 33) + `", "text": ""}`, `"to" is 66 bytes, at most 64`},
		{"from number", `{"kind": "chat", "from": 1, "text": ""}`, `"from" must be a string, got a number`},
		{"to bool", `{"kind": "chat", "to": false, "text": ""}`, `"to" must be a string, got a boolean`},
		{"id string", `{"kind": "chat", "id": "7", "text": ""}`, `"id" must be a non-negative integer, got a string`},
		{"id negative", `{"kind": "chat", "id": -7, "text": ""}`, `"id" must be a non-negative integer, got negative`},
		{"id float", `{"kind": "chat", "id": 7.0, "text": ""}`, `"id" must be an integer`},
		{"id 2^64", `{"kind": "chat", "id": 18446744073709551616, "text": ""}`, `"id" out of range`},
		{"ts string", `{"kind": "chat", "text": "", "ts": "1764331200123"}`, `"ts" must be a non-negative integer, got a string`},
		{"ts negative", `{"kind": "chat", "text": "", "ts": -1}`, `"ts" must be a non-negative integer, got negative`},
		{"ts float", `{"kind": "chat", "text": "", "ts": 1764331200.123}`, `"ts" must be an integer`},
		{"ts exponent", `{"kind": "chat", "text": "", "ts": 1.7e12}`, `"ts" must be an integer`},
		{"ts 2^63", `{"kind": "chat", "text": "", "ts": 9223372036854775808}`, `"ts" must be at most 9223372036854775807`},
		{"ts null", `{"kind": "chat", "text": "", "ts": null}`, `"ts" must be a non-negative integer, got null`},
		{"duplicate kind", `{"kind": "chat", "kind": "system", "text": ""}`, `duplicate "kind"`},
		{"duplicate text", `{"kind": "chat", "text": "a", "text": "b"}`, `duplicate "text"`},
		{"duplicate from", `{"kind": "chat", "from": "a", "fr\u006fm": "server", "text": ""}`, `duplicate "from"`},
		{"duplicate to", `{"kind": "private", "to": "a", "to": "b", "text": ""}`, `duplicate "to"`},
		{"duplicate id", `{"kind": "chat", "id": 1, "id": 1, "text": ""}`, `duplicate "id"`},
		{"duplicate ts", `{"kind": "chat", "text": "", "ts": 1, "ts": 2}`, `duplicate "ts"`},
		{"duplicate after bad kind", `{"kind":"","kind":"system","text":""}`, `duplicate "kind"`},
		{"duplicate after bad text", `{"kind": "chat", "text": null, "text": "x"}`, `duplicate "text"`},
	}
}

func TestDecodeMessageRejectsHostile(t *testing.T) {
	var c json.Codec
	for _, tc := range hostileMessages() {
		t.Run(tc.name, func(t *testing.T) {
			m, err := c.DecodeMessage([]byte(tc.in))
			if err == nil {
				t.Fatalf("DecodeMessage accepted %q as %+v", tc.in, m)
			}
			if m != nil {
				t.Errorf("DecodeMessage returned a message with its error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "codec/json: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not mention %q", msg, tc.want)
			}
			if len(msg) > 200 {
				t.Errorf("error is %d bytes long; hostile input must not flood the log", len(msg))
			}
		})
	}
}

// TestDecodeMessageDoesNotAlias: the decoded strings are the message's own.
func TestDecodeMessageDoesNotAlias(t *testing.T) {
	var c json.Codec
	buf := []byte(`{"kind": "private", "from": "alice", "to": "bob", "text": "hello"}`)
	m, err := c.DecodeMessage(buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'A'
	}
	if m.From != "alice" || m.To != "bob" || m.Text != "hello" {
		t.Fatalf("message changed with the input buffer: %+v", m)
	}
}
