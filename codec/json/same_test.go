package json_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
)

// FuzzSameAsValid holds the one-pass scanner to the decoding it replaced,
// json.ValidFirst (encoding/json.Valid and utf8.Valid over the whole input,
// then a walk): on any input, Decode, DecodeMessage and DecodeMessages must
// accept what it accepted and read the same, and refuse what it refused,
// with the same error. Strictness is a security property here, so "the
// same" is exact, error text included.
func FuzzSameAsValid(f *testing.F) {
	codectest.AddBundleSeeds(f, json.Codec{}, sameSeeds(f)...)
	f.Fuzz(checkSameAsValid)
}

// TestSameAsValid makes FuzzSameAsValid's check of every seed in full
// (AddBundleSeeds leaves out the long ones), and of nesting on either side
// of encoding/json's bound, 10,000 levels.
func TestSameAsValid(t *testing.T) {
	for _, in := range sameSeeds(t) {
		checkSameAsValid(t, in)
	}
	for _, in := range deepInputs() {
		checkSameAsValid(t, in)
	}
}

// TestDepthBound: nesting of up to 10,000 objects and arrays, the outermost
// counted, is well-formed and deeper is not, as encoding/json has it.
func TestDepthBound(t *testing.T) {
	var c json.Codec
	for _, depth := range []int{10000, 10001} {
		unknown := `{"kind": "chat", "text": "", "x": ` + nest(depth-1) + `}`
		_, err := c.DecodeMessage([]byte(unknown))
		syntax := err != nil && strings.Contains(err.Error(), "not valid JSON")
		if syntax != (depth > 10000) {
			t.Errorf("depth %d: DecodeMessage: %v", depth, err)
		}
		_, err = c.DecodeMessages(nil, []byte(nest(depth)))
		syntax = err != nil && strings.Contains(err.Error(), "not valid JSON")
		if syntax != (depth > 10000) {
			t.Errorf("depth %d: DecodeMessages: %v", depth, err)
		}
	}
}

// checkSameAsValid compares the codec and json.ValidFirst on in.
func checkSameAsValid(t *testing.T, in []byte) {
	t.Helper()
	var (
		c   json.Codec
		old json.ValidFirst
	)
	p, err := c.Decode(in)
	wantP, wantErr := old.Decode(in)
	if d := differs(p, err, wantP, wantErr); d != "" {
		t.Fatalf("Decode(%s): %s", quoteInput(in), d)
	}

	m, err := c.DecodeMessage(in)
	wantM, wantErr := old.DecodeMessage(in)
	if d := differs(m, err, wantM, wantErr); d != "" {
		t.Fatalf("DecodeMessage(%s): %s", quoteInput(in), d)
	}

	// A message already in dst shows that both leave it alone.
	before := &core.Message{Kind: core.KindChat, Text: "before"}
	ms, err := c.DecodeMessages([]*core.Message{before}, in)
	wantMs, wantErr := old.DecodeMessages([]*core.Message{before}, in)
	if d := differs(ms, err, wantMs, wantErr); d != "" {
		t.Fatalf("DecodeMessages(%s): %s", quoteInput(in), d)
	}
}

// differs says how a result and its error differ from what the old
// decoding gave ("" if they do not).
func differs[T any](got T, err error, want T, wantErr error) string {
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		return fmt.Sprintf("error %v, was %v", err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("%+v, was %+v", got, want)
	}
	return ""
}

// quoteInput quotes in for a failure message, cut to a readable length.
func quoteInput(in []byte) string {
	const max = 300
	if len(in) > max {
		return fmt.Sprintf("%q… (%d bytes)", in[:max], len(in))
	}
	return fmt.Sprintf("%q", in)
}

// sameSeeds gathers every input the codec's test tables hold, and shapes
// of JSON and of UTF-8 that they do not reach.
func sameSeeds(tb testing.TB) [][]byte {
	var seeds []string
	for _, tc := range vectorCases(tb) {
		seeds = append(seeds, tc.wire)
	}
	for _, tt := range v2Forms {
		seeds = append(seeds, tt.want)
	}
	for _, tt := range messageForms {
		seeds = append(seeds, tt.want, "["+tt.want+"]")
	}
	for _, cases := range [][]hostileCase{hostileCases(), hostileMessages(), hostileBundles()} {
		for _, tc := range cases {
			seeds = append(seeds, tc.in)
		}
	}
	seeds = append(seeds,
		// Numbers: every part of the grammar, and its near misses.
		`{"type": "ACK", "x": [0, -0, 1.5, -1.5e+3, 2E-07, 10e1, 0.0e0]}`,
		`{"type": "ACK", "x": -}`, `{"type": "ACK", "x": 1.}`, `{"type": "ACK", "x": .5}`,
		`{"type": "ACK", "x": 1e}`, `{"type": "ACK", "x": 1e+}`, `{"type": "ACK", "x": +1}`,
		`{"type": "ACK", "x": 0x1}`, `{"type": "ACK", "x": 1.5.3}`, `{"type": "ACK", "x": 00}`,
		`{"type": "ACK", "ack_seq": 7}`, `{"type": "ACK", "ack_seq": 7 }`, `{"type": "ACK", "ack_seq": 7,}`,
		// Literals.
		`{"type": "ACK", "x": [true, false, null]}`, `{"type": "ACK", "x": tru}`,
		`{"type": "ACK", "x": truex}`, `{"type": "ACK", "x": nul}`, `{"type": "ACK", "x": True}`,
		// Strings and escapes.
		`{"type": "ACK", "x": "\u00e9\uD83D\uDE00\/\b\f\n\r\t\"\\"}`, `{"type": "ACK", "x": "\u00zz"}`,
		`{"type": "ACK", "x": "\u00e"}`, `{"type": "ACK", "x": "\x"}`, `{"type": "ACK", "x": "\`,
		"{\"type\": \"ACK\", \"x\": \"tab\there\"}", "{\"type\": \"ACK\", \"x\": \"\x7f\"}",
		`{"t\u0079pe": "ACK", "\ud800": 1, "\u0074\u0079\u0070\u0065": "ACK"}`,
		// UTF-8: in a value, in a key, truncated before a quote, overlong,
		// a surrogate, beyond U+10FFFF, and U+FFFD itself (which is fine).
		"{\"type\": \"ACK\", \"x\": \"\xc3\"}", "{\"type\": \"ACK\", \"\xff\": 1}",
		"{\"type\": \"ACK\", \"x\": \"\xc0\xaf\"}", "{\"type\": \"ACK\", \"x\": \"\xed\xa0\x80\"}",
		"{\"type\": \"ACK\", \"x\": \"\xf4\x90\x80\x80\"}", "{\"type\": \"ACK\", \"x\": \"\xef\xbf\xbd\"}",
		"{\"type\": \"ACK\", \"x\": \"\xe2\x82\"", "{\"type\": \"ACK\", \"x\": \xe2\x82\xac}",
		// Which verdict comes first: syntax, then UTF-8, then the rest.
		"{\"type\": \"ACK\", \"type\": \"ACK\", \"x\": \"\xff\"}",
		"{\"type\": \"ACK\", \"type\": \"ACK\"} x", "[{\"kind\": 1, \"text\": \"\xff\"}]",
		"[1, {\"kind\": \"chat\", \"text\": \"\"}, ]", "[{\"kind\": \"chat\", \"text\": \"\", \"text\": \"\"}, [}]",
		// Nesting, and the brackets that close it.
		`{"type": "ACK", "x": [[], {}, [{}], {"a": [1, {"b": null}]}]}`,
		`{"type": "ACK", "x": [}`, `{"type": "ACK", "x": {]}`, `{"type": "ACK", "x": {"a"}}`,
		`{"type": "ACK", "x": {"a": }}`, `{"type": "ACK", "x": {1: 2}}`, `{"type": "ACK", "x": [1 2]}`,
		`{"type": "ACK", "x": {"a": 1,}}`, `[[{"kind": "chat", "text": ""}]]`, `[{}, [`,
		// Whitespace: only the four of JSON.
		" \t\r\n{\"type\":\"ACK\"}\n\r\t ", "\v{\"type\": \"ACK\"}", "{\"type\": \"ACK\"}\f",
		"{\"type\": \"ACK\"}\x00", "\xc2\xa0{\"type\": \"ACK\"}",
	)
	out := make([][]byte, len(seeds))
	for i, s := range seeds {
		out[i] = []byte(s)
	}
	return out
}

// nest returns depth arrays and objects nested alternately around a 0.
func nest(depth int) string {
	var open, close strings.Builder
	for i := range depth {
		if i%2 == 0 {
			open.WriteString("[")
			close.WriteString("]")
		} else {
			open.WriteString(`{"a":`)
			close.WriteString("}")
		}
	}
	return open.String() + "0" + reverse(close.String())
}

// reverse reverses an ASCII string.
func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// deepInputs nests values around encoding/json's depth bound, in every
// place a decoder reads one: the whole input, an unknown field of a packet
// or a message, an element of a bundle, and an unknown field in one.
func deepInputs() [][]byte {
	var out [][]byte
	for _, depth := range []int{9999, 10000, 10001, 10002} {
		out = append(out,
			[]byte(nest(depth)),
			[]byte(`{"type": "ACK", "x": `+nest(depth-1)+`}`),
			[]byte(`{"kind": "chat", "text": "", "x": `+nest(depth-1)+`}`),
			[]byte(`[`+nest(depth-1)+`]`),
			[]byte(`[{"kind": "chat", "text": "", "x": `+nest(depth-2)+`}]`),
			// Unclosed: the bound comes before the end of the input.
			[]byte(strings.Repeat("[", depth)),
		)
	}
	return out
}
