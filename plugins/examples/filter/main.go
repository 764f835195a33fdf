// Command filter is an example udpchat plugin: a word filter.
//
// Config:
//
//	words  the words to filter, comma-separated; matched whole and in any case
//	mode   "replace" (the default): each letter of a filtered word becomes '*';
//	       "drop": the message is refused, and its sender told
//	       "message contains a filtered word"
//
// A word is a run of letters and digits, so "heck" matches in "Heck!" but
// not in "heckle".
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/udpchat/udpchat/plugins/sdk"
)

func main() { sdk.Serve(&filter{}) }

type filter struct {
	words map[string]bool // lower case
	drop  bool
}

// dropReason is what a sender is told in drop mode.
const dropReason = "message contains a filtered word"

func (f *filter) Configure(cfg map[string]string, _ sdk.Host) error {
	f.words = map[string]bool{}
	for w := range strings.SplitSeq(cfg["words"], ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if strings.IndexFunc(w, func(r rune) bool { return !isWordRune(r) }) >= 0 {
			return fmt.Errorf("filter: %q is not a word: only letters and digits match", w)
		}
		f.words[strings.ToLower(w)] = true
	}
	if len(f.words) == 0 {
		return errors.New("filter: config words lists no word")
	}
	switch cfg["mode"] {
	case "", "replace":
	case "drop":
		f.drop = true
	default:
		return fmt.Errorf("filter: mode %q: want replace or drop", cfg["mode"])
	}
	return nil
}

func (f *filter) OnMessage(_ context.Context, m sdk.Message) (sdk.Verdict, error) {
	text, found := f.censor(m.Text)
	switch {
	case !found:
		return sdk.Pass(), nil
	case f.drop:
		return sdk.Reject(dropReason), nil
	}
	return sdk.Replace(text), nil
}

// censor returns s with each letter of every filtered word turned into
// '*', and whether there was one.
func (f *filter) censor(s string) (string, bool) {
	var b strings.Builder
	found := false
	for len(s) > 0 {
		// A word, then what separates it from the next.
		i := strings.IndexFunc(s, func(r rune) bool { return !isWordRune(r) })
		if i < 0 {
			i = len(s)
		}
		if word := s[:i]; f.words[strings.ToLower(word)] {
			found = true
			b.WriteString(strings.Repeat("*", len([]rune(word))))
		} else {
			b.WriteString(word)
		}
		s = s[i:]
		j := strings.IndexFunc(s, isWordRune)
		if j < 0 {
			j = len(s)
		}
		b.WriteString(s[:j])
		s = s[j:]
	}
	return b.String(), found
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
