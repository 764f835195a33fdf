package tui

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// mentions returns the byte ranges where nick appears in text as a word of
// its own, ignoring case as the server does for nicknames: "bob" is
// mentioned in "Bob: hi" and "@bob", not in "bobby".
func mentions(text, nick string) [][2]int {
	if nick == "" {
		return nil
	}
	var out [][2]int
	for i := 0; i+len(nick) <= len(text); {
		end := i + len(nick)
		if strings.EqualFold(text[i:end], nick) && !nickRuneBefore(text, i) && !nickRuneAt(text, end) {
			out = append(out, [2]int{i, end})
			i = end
			continue
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	return out
}

// isNickRune reports whether r can be part of a nickname, and so whether a
// match next to it is part of a longer word.
func isNickRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_'
}

func nickRuneBefore(s string, i int) bool {
	r, size := utf8.DecodeLastRuneInString(s[:i])
	return size > 0 && isNickRune(r)
}

func nickRuneAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return size > 0 && isNickRune(r)
}
