package json_test

import (
	stdjson "encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
)

// TestBundler: what every codec's bundles must do.
func TestBundler(t *testing.T) { codectest.TestBundler(t, json.Codec{}) }

// Two messages as AppendMessage writes them, for hand-made bundles.
const (
	chatA = `{"kind": "chat", "id": 1, "from": "alice", "text": "hi"}`
	chatB = `{"kind": "system", "from": "server", "text": "bob joined"}`
)

// TestAppendBundledForm pins the bytes of a bundle, and that a bundle with
// room grows in its own storage.
func TestAppendBundledForm(t *testing.T) {
	var c json.Codec
	b := c.AppendBundled(nil, []byte(chatA))
	if want := "[" + chatA + "]"; string(b) != want {
		t.Fatalf("bundle of one:\ngot  %s\nwant %s", b, want)
	}
	b = c.AppendBundled(b, []byte(chatB))
	if want := "[" + chatA + "," + chatB + "]"; string(b) != want {
		t.Fatalf("bundle of two:\ngot  %s\nwant %s", b, want)
	}
	if !stdjson.Valid(b) {
		t.Fatalf("not JSON: %s", b)
	}

	room := make([]byte, 0, 512)
	b = c.AppendBundled(room, []byte(chatA))
	b = c.AppendBundled(b, []byte(chatB))
	if &b[0] != &room[:1][0] {
		t.Fatal("AppendBundled did not use the bundle's room")
	}
}

// TestDecodeMessagesAccepts covers legal bundles the encoder does not write.
func TestDecodeMessagesAccepts(t *testing.T) {
	a := &core.Message{Kind: core.KindChat, ID: 1, From: "alice", Text: "hi"}
	b := &core.Message{Kind: core.KindSystem, From: "server", Text: "bob joined"}
	for _, tt := range []struct {
		name string
		in   string
		want []*core.Message
	}{
		{"bundle of one", "[" + chatA + "]", []*core.Message{a}},
		{"whitespace", "[\n\t" + chatA + " ,\r\n " + chatB + " \n]\r\n ", []*core.Message{a, b}},
		{"compact", `[{"kind":"chat","id":1,"from":"alice","text":"hi"},{"kind":"system","from":"server","text":"bob joined"}]`,
			[]*core.Message{a, b}},
		{"unknown fields with arrays", `[{"kind": "chat", "text": "", "x": [[{"kind": "chat"}]], "y": "]"}]`,
			[]*core.Message{{Kind: core.KindChat}}},
		{"escapes", `[{"k\u0069nd": "chat", "text": "\ud83c\udf0d \"]\""}]`, []*core.Message{{Kind: core.KindChat, Text: `🌍 "]"`}}},
		{"plain message", chatA, []*core.Message{a}},
		{"plain message after whitespace", " \n" + chatA, []*core.Message{a}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := codectest.DecodeAfter(t, json.Codec{}, []byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeMessages(%q): %v", tt.in, err)
			}
			if diff := codectest.SameMessages(got, tt.want); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}

// hostileBundles are plaintexts DecodeMessages must refuse, with a word its
// error must contain. They also seed FuzzDecodeMessages.
func hostileBundles() []hostileCase {
	compact := `{"kind":"chat","text":""}`
	over := "[" + strings.Repeat(compact+",", core.MaxBundle) + compact + "]"
	return []hostileCase{
		{"empty", "[]", "codec/json: empty bundle"},
		{"empty with space", "[ \n ]", "codec/json: empty bundle"},
		{"number", "[1]", "bundle element 0 is not a message object but a number"},
		{"string", `["chat"]`, "bundle element 0 is not a message object but a string"},
		{"null", "[null]", "bundle element 0 is not a message object but null"},
		{"null second", "[" + chatA + ", null]", "bundle element 1 is not a message object but null"},
		{"trailing data", "[" + chatA + "]x", "after top-level value"},
		{"two bundles", "[" + chatA + "][" + chatB + "]", "after top-level value"},
		{"trailing comma", "[" + chatA + ",]", "not valid JSON"},
		{"leading comma", "[," + chatA + "]", "not valid JSON"},
		{"truncated", "[" + chatA, "truncated"},
		{"truncated element", "[" + chatA[:20], "truncated"},
		{"nested", "[[" + chatA + "]]", "bundle element 0 is an array: a bundle holds no bundle"},
		{"nested second", "[" + chatA + ",[" + chatB + "]]", "bundle element 1 is an array"},
		{"nested empty", "[[]]", "bundle element 0 is an array"},
		{"element without text", `[` + chatA + `,{"kind": "chat"}]`, `bundle element 1: message without "text" field`},
		{"element without kind", `[{"text": ""}]`, `bundle element 0: message without "kind" field`},
		{"element unknown kind", `[{"kind": "shout", "text": ""}]`, `bundle element 0: unknown message kind "shout"`},
		{"element duplicate field", `[{"kind": "chat", "text": "", "text": "x"}]`, `bundle element 0: duplicate "text" field in message`},
		{"element lone surrogate", `[` + chatA + `,` + chatA + `,{"kind": "chat", "text": "\udc00"}]`,
			`bundle element 2: "text" holds an unpaired UTF-16 surrogate`},
		{"element long from", `[{"kind": "chat", "from": "` + strings.Repeat("f", 65) + `", "text": ""}]`, `bundle element 0: "from" is 65 bytes`},
		{"invalid utf8", "[{\"kind\": \"chat\", \"text\": \"\xff\"}]", "codec/json: bundle is not valid UTF-8"},
		{"MaxBundle+1", over, "codec/json: bundle of more than 256 messages"},
		{"array after whitespace", " [" + chatA + "]", "message is not a JSON object but an array"},
	}
}

func TestDecodeMessagesRefuses(t *testing.T) {
	for _, tc := range hostileBundles() {
		t.Run(tc.name, func(t *testing.T) { codectest.CheckRefused(t, json.Codec{}, []byte(tc.in), "codec/json: ", tc.want) })
	}
}

// TestDecodeMessagesElementError: an element's error wraps what
// DecodeMessage says of the element alone.
func TestDecodeMessagesElementError(t *testing.T) {
	var c json.Codec
	bad := `{"kind": "chat", "id": -1, "text": ""}`
	_, alone := c.DecodeMessage([]byte(bad))
	_, err := c.DecodeMessages(nil, []byte("["+chatA+","+bad+"]"))
	if alone == nil || err == nil {
		t.Fatalf("accepted: %v, %v", alone, err)
	}
	inner := errors.Unwrap(err)
	if inner == nil || inner.Error() != alone.Error() {
		t.Fatalf("DecodeMessages: %v wraps %v; DecodeMessage says %v", err, inner, alone)
	}
}

// FuzzDecodeMessages feeds DecodeMessages arbitrary plaintexts. It must never
// panic or modify its input; a refusal is a codec/json error and leaves dst
// as it was (codectest.DecodeAfter); it must agree with refDecodeMessages
// except on duplicate fields; and what it accepts must not alias the input
// and must round-trip: AppendMessage and, for a bundle, AppendBundled encode
// it, DecodeMessages gives it back, and encoding that again gives the same
// bytes (codectest.CheckRoundTrip).
func FuzzDecodeMessages(f *testing.F) {
	var c json.Codec
	extra := [][]byte{
		[]byte(" [ " + chatA + " , " + chatB + " ] "),
		[]byte(`[{"ts": 0, "text": "\ud83c\udf0d", "kind": "h\u0069story", "x": [{"]": "["}]}]`),
	}
	for _, tc := range hostileBundles() {
		extra = append(extra, []byte(tc.in))
	}
	for _, tt := range messageForms {
		extra = append(extra, []byte("["+tt.want+"]"))
	}
	codectest.AddBundleSeeds(f, c, extra...)

	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := codectest.DecodeAfter(t, c, in)
		ref, refOK := refDecodeMessages(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "codec/json: ") {
				t.Fatalf("error %q lacks the codec/json prefix", err)
			}
			if refOK && !strings.Contains(err.Error(), "duplicate") {
				t.Fatalf("DecodeMessages(%q) = %v, but the reference accepts it as %d messages", in, err, len(ref))
			}
			return
		}
		if !refOK {
			t.Fatalf("DecodeMessages(%q) = %d messages, but the reference refuses it", in, len(got))
		}
		if diff := codectest.SameMessages(got, ref); diff != "" {
			t.Fatalf("DecodeMessages(%q) against the reference: %s", in, diff)
		}
		codectest.CheckRoundTrip(t, c, got, in[0] == '[')
	})
}

// refDecodeMessages states the bundle rules a second time, on encoding/json:
// a plaintext starting with '[' is a JSON array of 1 to core.MaxBundle
// messages refDecodeMessage accepts; any other is one such message.
func refDecodeMessages(b []byte) ([]*core.Message, bool) {
	if len(b) == 0 || b[0] != '[' {
		m, ok := refDecodeMessage(b)
		return []*core.Message{m}, ok
	}
	if !utf8.Valid(b) {
		return nil, false
	}
	var raws []stdjson.RawMessage
	if err := stdjson.Unmarshal(b, &raws); err != nil || len(raws) == 0 || len(raws) > core.MaxBundle {
		return nil, false
	}
	out := make([]*core.Message, len(raws))
	for i, raw := range raws {
		m, ok := refDecodeMessage(raw)
		if !ok {
			return nil, false
		}
		out[i] = m
	}
	return out, true
}
