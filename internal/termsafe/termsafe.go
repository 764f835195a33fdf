// Package termsafe is the one place that says which characters of chat
// text may reach a terminal, and which a server refuses in a message.
//
// Text from the network is hostile: a terminal obeys escape sequences (to
// clear the screen, move the cursor, set the window title), bidirectional
// controls reorder what is drawn around them, so that "exe.png" reads as
// a picture's name, a line break or line separator forges a line from
// someone else, and invisible characters make two different texts look
// alike and slip words past a filter. The server refuses these in what its
// clients send (Refusal), and every client neutralises them in whatever
// it shows (Line), since a version 1 server is not authenticated and
// anyone on the path can be one.
package termsafe

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Class is what a character is, for the two policies.
type Class uint8

// The classes. Each says what Refusal and Line do with its characters.
const (
	// Text is everything else, emoji, CJK, ZWJ (U+200D, which emoji
	// sequences need) and ZWNJ (U+200C, which Persian and Indic
	// orthography need) included: allowed, and shown as it is.
	Text Class = iota
	// Tab is '\t': allowed, and shown as a space.
	Tab
	// Control is the C0 controls but tab (line feed and carriage return
	// included), DEL and the C1 controls: refused; shown as U+FFFD, but
	// for a line break, shown as a space.
	Control
	// LineSeparator is U+2028 and U+2029: line breaks in disguise,
	// refused; shown as a space.
	LineSeparator
	// Bidi is the bidirectional embeddings, overrides and isolates,
	// U+202A–U+202E and U+2066–U+2069, which reorder the text around
	// them (Trojan Source, CVE-2021-42574): refused; not shown.
	Bidi
	// BidiMark is U+061C, U+200E and U+200F, the marks right-to-left
	// writing uses, which only place the characters next to them: allowed;
	// not shown, since a terminal lays out text on its own.
	BidiMark
	// Invisible is the zero-width space (U+200B), the word joiner and
	// invisible operators (U+2060–U+2064), the deprecated format
	// characters (U+206A–U+206F), the Mongolian vowel separator (U+180E),
	// the byte-order mark (U+FEFF) and the interlinear annotation
	// characters (U+FFF9–U+FFFB): refused, since they hide text from
	// readers and filters; not shown.
	Invisible
)

// Of returns r's class.
func Of(r rune) Class {
	switch {
	case r == '\t':
		return Tab
	case unicode.IsControl(r):
		return Control
	case r == '\u2028' || r == '\u2029':
		return LineSeparator
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return Bidi
	case r == '\u061C' || r == '\u200E' || r == '\u200F':
		return BidiMark
	case r == '\u200B', r >= '\u2060' && r <= '\u2064', r >= '\u206A' && r <= '\u206F',
		r == '\u180E', r == '\uFEFF', r >= '\uFFF9' && r <= '\uFFFB':
		return Invisible
	}
	return Text
}

// reasons are what Refusal says, for a class it refuses.
var reasons = [...]string{
	Control:       "message contains control characters",
	LineSeparator: "message contains a line or paragraph separator (U+2028, U+2029)",
	Bidi:          "message contains bidirectional override or isolate characters (U+202A–U+202E, U+2066–U+2069)",
	Invisible:     "message contains invisible characters (zero-width space, word joiner, byte-order mark)",
}

// Refusal returns why a server refuses s as a message's text, for its
// sender, or "" if it does not: invalid UTF-8, and any character of a
// class the classes above say is refused.
func Refusal(s string) string {
	if !utf8.ValidString(s) {
		return "message is not valid UTF-8"
	}
	for _, r := range s {
		if c := Of(r); int(c) < len(reasons) && reasons[c] != "" {
			return reasons[c]
		}
	}
	return ""
}

// Line returns s made safe to show on one line of a terminal: invalid
// UTF-8 and control characters become U+FFFD, tabs and line breaks
// (line separators included) spaces, and bidirectional controls and
// invisible characters go. Everything printable stays.
func Line(s string) string {
	if printableASCII(s) {
		return s // the common case, without a copy
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch Of(r) {
		case Tab, LineSeparator:
			return ' '
		case Control:
			if r == '\n' || r == '\r' {
				return ' '
			}
			return '\uFFFD'
		case Bidi, BidiMark, Invisible:
			return -1
		}
		return r
	}, s)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
