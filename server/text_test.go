package server_test

import (
	"testing"

	"github.com/udpchat/udpchat/chattest"
)

// TestFormatCharactersRefused (issue 15, finding 13): the server refuses,
// with the reason, to its sender, a message holding a character that
// would reorder, break or hide what its readers see, class by class, and
// relays the characters writing needs (ZWJ for emoji, ZWNJ, the bidi
// marks, tab).
func TestFormatCharactersRefused(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	a, b := room.Join(), room.Join()
	tests := []struct {
		name, text, refusal string
	}{
		{"escape sequence", "\x1b]0;pwned\x07", "message contains control characters"},
		{"C1 control", "a\u009bb", "message contains control characters"},
		{"bidi override", "gnp\u202E.exe", "message contains bidirectional override or isolate characters (U+202A–U+202E, U+2066–U+2069)"},
		{"bidi isolate", "\u2067isolated\u2069", "message contains bidirectional override or isolate characters (U+202A–U+202E, U+2066–U+2069)"},
		{"line separator", "one\u2028<bob> two", "message contains a line or paragraph separator (U+2028, U+2029)"},
		{"paragraph separator", "one\u2029two", "message contains a line or paragraph separator (U+2028, U+2029)"},
		{"zero-width space", "pass\u200Bword", "message contains invisible characters (zero-width space, word joiner, byte-order mark)"},
		{"word joiner", "a\u2060b", "message contains invisible characters (zero-width space, word joiner, byte-order mark)"},
		{"byte-order mark", "\uFEFFhello", "message contains invisible characters (zero-width space, word joiner, byte-order mark)"},
		{"emoji with ZWJ", "👩\u200D💻 at work", ""},
		{"ZWNJ", "می\u200Cخواهم", ""},
		{"bidi marks and tab", "abc\u200F\u200E\u061C\tdef", ""},
	}
	relayed := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			delivered, refused, failed := a.WaitVerdict(a.Say(tt.text))
			switch {
			case failed != nil:
				t.Fatalf("not delivered: %v", failed)
			case tt.refusal == "" && !delivered:
				t.Fatalf("refused (%q), want relayed", refused)
			case tt.refusal != "" && refused != tt.refusal:
				t.Fatalf("verdict delivered=%v refused %q, want refused %q", delivered, refused, tt.refusal)
			}
			if tt.refusal == "" {
				relayed++
				if got := b.WaitChat(relayed); got[relayed-1].Text != tt.text {
					t.Fatalf("relayed %+q, want %+q", got[relayed-1].Text, tt.text)
				}
			}
		})
	}
	if got := b.WaitChat(relayed); len(got) != relayed {
		t.Fatalf("the room got %d messages, want %d: %+v", len(got), relayed, got)
	}
}
