package codectest

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
)

// NamedMessage is a message with a name for test logs.
type NamedMessage struct {
	Name string
	M    core.Message
}

// Messages returns a message of every kind and the edges of the fields a
// MessageCodec carries: what every one must carry unchanged. Times are
// whole milliseconds in UTC after 1970, or zero, which every codec keeps
// exactly. They are new on every call.
func Messages() []NamedMessage {
	ts := time.UnixMilli(1764331200123).UTC()
	return []NamedMessage{
		{"chat", core.Message{Kind: core.KindChat, ID: 7, From: "alice", Text: "hi", Time: ts}},
		{"system", core.Message{Kind: core.KindSystem, ID: 8, From: core.SystemSender, Text: "bob joined", Time: ts}},
		{"error", core.Message{Kind: core.KindError, From: core.SystemSender, Text: "no such user: carol", Time: ts}},
		{"action", core.Message{Kind: core.KindAction, ID: 9, From: "alice", Text: "waves", Time: ts}},
		{"private", core.Message{Kind: core.KindPrivate, ID: 10, From: "alice", To: "bob", Text: "hi", Time: ts}},
		{"history", core.Message{Kind: core.KindHistory, ID: 11, From: "carol", Text: "earlier", Time: ts}},
		{"channel", core.Message{Kind: core.KindChat, ID: 3, From: "alice", Room: "#go", Text: "in #go", Time: ts}},
		{"longest channel", core.Message{Kind: core.KindAction, ID: 4, From: "bob", Room: "#" + strings.Repeat("z", core.MaxRoom), Text: "waves", Time: ts}},
		{"session", core.Message{Kind: core.KindSession, ID: 1764331200, From: core.SystemSender,
			Text: strings.Repeat("0123456789abcdef", 4), Time: ts}},
		{"zero time", core.Message{Kind: core.KindSystem, From: core.SystemSender, Text: "no clock"}},
		{"empty", core.Message{}},
		{"unicode and controls", core.Message{Kind: core.KindChat, From: "zoë🌍", To: "世界", Text: "héllo \u2028 🌍\x00\n\"\\", Time: ts}},
		{"long", core.Message{Kind: core.KindChat, From: strings.Repeat("é", core.MaxName/2), To: strings.Repeat("t", core.MaxName),
			Text: strings.Repeat("long ", 700), Time: ts}},
		{"max numbers", core.Message{Kind: core.KindHistory, ID: math.MaxUint64, From: "a", Text: "b", Time: core.MaxMessageTime.UTC()}},
		{"1 ms after 1970", core.Message{Kind: core.KindChat, Text: "old", Time: time.UnixMilli(1).UTC()}},
	}
}

// SameMessage reports whether a and b agree on every field a MessageCodec
// carries (Origin is none of them): the same instant, and both zero or not.
func SameMessage(a, b *core.Message) bool {
	return a.Kind == b.Kind && a.ID == b.ID && a.From == b.From && a.To == b.To && a.Room == b.Room &&
		a.Text == b.Text && a.Time.Equal(b.Time) && a.Time.IsZero() == b.Time.IsZero()
}

// TestMessages checks a MessageCodec as TestCodec checks a Codec: each of
// Messages round trips (in UTC, Origin left off), DecodeMessage neither
// modifies nor aliases its input and refuses truncations and garbage
// without a panic, AppendMessage refuses what is beyond core's bounds
// leaving dst as it was, and it all works from several goroutines at once.
func TestMessages(t *testing.T, mc core.MessageCodec) {
	msgs := Messages()
	for _, tt := range msgs {
		m := tt.M
		m.Origin = 42 // never on the wire
		prefix := []byte("prefix:")
		got, err := mc.AppendMessage(slices.Clip(prefix), &m)
		if err != nil {
			t.Fatalf("%s: AppendMessage: %v", tt.Name, err)
		}
		if !bytes.HasPrefix(got, prefix) {
			t.Fatalf("%s: AppendMessage clobbered dst: %q", tt.Name, got)
		}
		enc := got[len(prefix):]
		back, err := mc.DecodeMessage(enc)
		if err != nil {
			t.Fatalf("%s: DecodeMessage(%q): %v", tt.Name, enc, err)
		}
		clear(enc)
		if !SameMessage(back, &tt.M) || back.Origin != 0 {
			t.Fatalf("%s: round trip: %+v became %+v", tt.Name, tt.M, *back)
		}
		if !back.Time.IsZero() && back.Time.Location() != time.UTC {
			t.Errorf("%s: time in %v, want UTC", tt.Name, back.Time.Location())
		}
		enc, _ = mc.AppendMessage(nil, &tt.M)
		if again, err := mc.AppendMessage(nil, back); err != nil || !bytes.Equal(again, enc) {
			t.Errorf("%s: re-encoding differs:\n%q\n%q (%v)", tt.Name, enc, again, err)
		}
		for i := range len(enc) {
			CheckDecodeMessage(t, mc, enc[:i])
		}
	}
	CheckDecodeMessage(t, mc, []byte("\xff\xfe garbage"))

	bad := "a\xffb"
	for _, tt := range []struct {
		name string
		m    *core.Message
	}{
		{"nil", nil},
		{"kind past session", &core.Message{Kind: core.KindSession + 1}},
		{"from too long", &core.Message{From: strings.Repeat("f", core.MaxName+1)}},
		{"to too long", &core.Message{To: strings.Repeat("t", core.MaxName+1)}},
		{"from not UTF-8", &core.Message{From: bad}},
		{"to not UTF-8", &core.Message{To: bad}},
		{"text not UTF-8", &core.Message{Text: bad}},
		{"room without #", &core.Message{Room: "go"}},
		{"room upper case", &core.Message{Room: "#Go"}},
		{"room too long", &core.Message{Room: "#" + strings.Repeat("z", core.MaxRoom+1)}},
		{"room with a control character", &core.Message{Room: "#a\nb"}},
		{"before 1970", &core.Message{Time: core.MinMessageTime.Add(-time.Second)}},
	} {
		got, err := mc.AppendMessage([]byte("keep"), tt.m)
		if err == nil {
			t.Errorf("%s: AppendMessage accepted it: %q", tt.name, got)
		}
		if string(got) != "keep" {
			t.Errorf("%s: AppendMessage changed dst to %q", tt.name, got)
		}
	}

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				for _, tt := range msgs {
					enc, err := mc.AppendMessage(nil, &tt.M)
					if err != nil {
						t.Errorf("%s: %v", tt.Name, err)
						return
					}
					if m, err := mc.DecodeMessage(enc); err != nil || !SameMessage(m, &tt.M) {
						t.Errorf("%s: DecodeMessage = %+v, %v", tt.Name, m, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// CheckDecodeMessage holds one DecodeMessage of in, any bytes at all, to
// the contract, as CheckDecode does Decode: no panic, the input unchanged,
// an error with no message, or a message that does not alias in and
// survives AppendMessage and DecodeMessage unchanged. It returns what
// DecodeMessage returned.
func CheckDecodeMessage(t testing.TB, mc core.MessageCodec, in []byte) (*core.Message, error) {
	t.Helper()
	return checkDecoded(t, "DecodeMessage", "AppendMessage", in, mc.DecodeMessage, mc.AppendMessage, SameMessage)
}

// AddMessageSeeds adds to a fuzz target of DecodeMessage the encodings of
// Messages under mc.
func AddMessageSeeds(f *testing.F, mc core.MessageCodec) {
	f.Helper()
	f.Add([]byte{})
	for _, tt := range Messages() {
		enc, err := mc.AppendMessage(nil, &tt.M)
		if err != nil {
			f.Fatalf("%s: %v", tt.Name, err)
		}
		f.Add(enc)
	}
}
