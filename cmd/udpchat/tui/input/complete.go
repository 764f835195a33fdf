package input

import "strings"

// Sources is what a Completer can complete a word to.
type Sources struct {
	// Commands are completed for a word that starts the line with '/'.
	Commands []string
	// Nicks are completed anywhere else, most likely first (the UI lists
	// the most recent speakers first).
	Nicks []string
}

// Completer completes the word before the cursor. Pressing Tab again right
// after a completion replaces it with the next candidate, as irssi and zsh
// do, rather than listing the candidates: a chat has no room for a list.
type Completer struct {
	active bool
	line   string // the line as the last completion left it
	cursor int    // the cursor the last completion left

	start  int // rune index where the completed word starts
	cands  []string
	suffix string
	i      int
}

// Reset forgets the last completion, so that the next Tab starts afresh.
// The UI calls it on any key but Tab.
func (c *Completer) Reset() { c.active = false }

// Complete completes the word that ends at cursor (a rune index into line)
// and returns the new line and cursor. back walks the candidates backwards
// (Shift+Tab). It reports false, and returns line and cursor unchanged,
// when there is nothing to complete.
//
// A nickname that starts the line gets ": " after it, as addressing someone
// does in IRC; one written as "@name" keeps its '@'.
func (c *Completer) Complete(line string, cursor int, src Sources, back bool) (string, int, bool) {
	runes := []rune(line)
	if cursor < 0 || cursor > len(runes) {
		return line, cursor, false
	}
	if !c.active || line != c.line || cursor != c.cursor {
		if !c.begin(runes, cursor, src) {
			c.active = false
			return line, cursor, false
		}
		c.i = 0
		if back {
			c.i = len(c.cands) - 1
		}
	} else {
		n := len(c.cands)
		if back {
			c.i = (c.i - 1 + n) % n
		} else {
			c.i = (c.i + 1) % n
		}
	}
	// What the last completion inserted, if cycling, or the word typed, is
	// runes[c.start:cursor]: it is replaced. The text after the cursor
	// stays, and a space already there is not doubled.
	tail := runes[cursor:]
	suffix := c.suffix
	if len(tail) > 0 && tail[0] == ' ' {
		suffix = strings.TrimSuffix(suffix, " ")
	}
	insert := []rune(c.cands[c.i] + suffix)
	out := append(append(append([]rune{}, runes[:c.start]...), insert...), tail...)
	c.active = true
	c.line, c.cursor = string(out), c.start+len(insert)
	return c.line, c.cursor, true
}

// begin finds the word before cursor and its candidates.
func (c *Completer) begin(runes []rune, cursor int, src Sources) bool {
	start := cursor
	for start > 0 && runes[start-1] != ' ' {
		start--
	}
	word := string(runes[start:cursor])
	c.start, c.cands = start, nil
	if start == 0 && strings.HasPrefix(word, "/") {
		c.cands, c.suffix = matching(src.Commands, word, ""), " "
		return len(c.cands) > 0
	}
	at := ""
	if strings.HasPrefix(word, "@") {
		at, word = "@", word[1:]
	}
	c.suffix = " "
	if start == 0 && at == "" {
		c.suffix = ": "
	}
	c.cands = matching(src.Nicks, word, at)
	return len(c.cands) > 0
}

// matching returns the names that start with prefix, ignoring case as the
// server does for nicknames, each once and in the order given.
func matching(names []string, prefix, mark string) []string {
	var out []string
	seen := make(map[string]bool)
	p := strings.ToLower(prefix)
	for _, n := range names {
		f := strings.ToLower(n)
		if n == "" || seen[f] || !strings.HasPrefix(f, p) {
			continue
		}
		seen[f] = true
		out = append(out, mark+n)
	}
	return out
}
