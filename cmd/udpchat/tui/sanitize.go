package tui

import (
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// clean makes text from the network safe to draw. Anyone in the room can
// put bytes in a message, and a terminal obeys escape sequences: left in,
// they could move the cursor, rewrite the status line, fake a message from
// someone else or set the window title. Control characters become U+FFFD,
// line breaks and tabs become spaces (an entry is one logical line), bidi
// overrides go (they could reverse the text around them), and invalid
// UTF-8 becomes U+FFFD. Everything printable, emoji and CJK included,
// stays.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r):
			return '\uFFFD'
		case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069', r == '\u061C':
			return -1
		}
		return r
	}, s)
}

// truncate cuts s, which may be styled, to width cells.
func truncate(s string, width int) string {
	return ansi.Truncate(s, width, "")
}
