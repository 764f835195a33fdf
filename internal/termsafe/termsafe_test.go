package termsafe

import (
	"testing"
	"unicode/utf8"
)

// TestClasses: every class, its refusal on the server's side and what a
// client shows of it (issue 15, findings 8 and 13).
func TestClasses(t *testing.T) {
	tests := []struct {
		name    string
		runes   []rune
		class   Class
		refused bool
		shown   string // what Line makes of "a" + r + "b"
	}{
		{"letters, CJK, emoji", []rune{'x', 'é', '漢', '🌍'}, Text, false, ""},
		{"zero-width joiner and non-joiner", []rune{'\u200D', '\u200C'}, Text, false, ""},
		{"tab", []rune{'\t'}, Tab, false, "a b"},
		{"line breaks", []rune{'\n', '\r'}, Control, true, "a b"},
		{"C0, DEL, C1", []rune{0, '\x07', '\x1b', '\x7f', '\u0085', '\u009b'}, Control, true, "a\uFFFDb"},
		{"line and paragraph separators", []rune{'\u2028', '\u2029'}, LineSeparator, true, "a b"},
		{"bidi embeddings and overrides", []rune{'\u202A', '\u202B', '\u202C', '\u202D', '\u202E'}, Bidi, true, "ab"},
		{"bidi isolates", []rune{'\u2066', '\u2067', '\u2068', '\u2069'}, Bidi, true, "ab"},
		{"bidi marks", []rune{'\u061C', '\u200E', '\u200F'}, BidiMark, false, "ab"},
		{"zero-width space, word joiner, BOM", []rune{'\u200B', '\u2060', '\u2061', '\u2064', '\u206A', '\u206F', '\u180E', '\uFEFF', '\uFFF9', '\uFFFB'}, Invisible, true, "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range tt.runes {
				s := "a" + string(r) + "b"
				if c := Of(r); c != tt.class {
					t.Errorf("Of(%U) = %d, want %d", r, c, tt.class)
				}
				if why := Refusal(s); (why != "") != tt.refused {
					t.Errorf("Refusal(%+q) = %q, want refused %v", s, why, tt.refused)
				}
				want := tt.shown
				if want == "" {
					want = s
				}
				if got := Line(s); got != want {
					t.Errorf("Line(%+q) = %+q, want %+q", s, got, want)
				}
			}
		})
	}
	if Refusal("\xff") == "" || Line("a\xffb") != "a\uFFFDb" {
		t.Error("invalid UTF-8 is neither refused nor replaced")
	}
	if s := "plain text"; Line(s) != s || Refusal(s) != "" {
		t.Error("plain text changed or refused")
	}
}

// FuzzLine: whatever Line returns is valid UTF-8 and holds no character
// of a class a terminal must not be handed.
func FuzzLine(f *testing.F) {
	f.Add("clear\x1b[2J\x1b]0;pwned\x07 \u202Egnp.exe\u2028x\uFEFF")
	f.Fuzz(func(t *testing.T, s string) {
		got := Line(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Line(%+q) = %+q, not valid UTF-8", s, got)
		}
		for _, r := range got {
			if c := Of(r); c != Text {
				t.Fatalf("Line(%+q) = %+q holds %U (class %d)", s, got, r, c)
			}
		}
	})
}
