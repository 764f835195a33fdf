package plugins

import (
	"strings"
	"testing"

	"github.com/udpchat/udpchat/proto/handlerpb"
)

func TestDecide(t *testing.T) {
	ok := func(text string, to handlerpb.Reply_To) *handlerpb.Reply { return &handlerpb.Reply{To: to, Text: text} }
	cases := []struct {
		name string
		v    *handlerpb.Verdict
		err  string // "" for a good verdict
	}{
		{"empty is pass", &handlerpb.Verdict{}, ""},
		{"pass", &handlerpb.Verdict{Action: handlerpb.Verdict_PASS}, ""},
		{"replace", &handlerpb.Verdict{Action: handlerpb.Verdict_REPLACE, Text: "héllo\tthere"}, ""},
		{"replace empty", &handlerpb.Verdict{Action: handlerpb.Verdict_REPLACE}, "empty text"},
		{"replace escape", &handlerpb.Verdict{Action: handlerpb.Verdict_REPLACE, Text: "\x1b[2J"}, "control characters"},
		{"replace newline", &handlerpb.Verdict{Action: handlerpb.Verdict_REPLACE, Text: "a\nb"}, "control characters"},
		{"replace bad utf-8", &handlerpb.Verdict{Action: handlerpb.Verdict_REPLACE, Text: "a\xffb"}, "UTF-8"},
		{"reject", &handlerpb.Verdict{Action: handlerpb.Verdict_REJECT, Reason: "no"}, ""},
		{"reject no reason", &handlerpb.Verdict{Action: handlerpb.Verdict_REJECT}, ""},
		{"reject bad reason", &handlerpb.Verdict{Action: handlerpb.Verdict_REJECT, Reason: "\x07"}, "control characters"},
		{"drop", &handlerpb.Verdict{Action: handlerpb.Verdict_DROP}, ""},
		{"unknown action", &handlerpb.Verdict{Action: 42}, "unknown action 42"},
		{"negative action", &handlerpb.Verdict{Action: -1}, "unknown action -1"},
		{"replies", &handlerpb.Verdict{Replies: []*handlerpb.Reply{ok("a", handlerpb.Reply_SENDER), ok("b", handlerpb.Reply_EVERYONE)}}, ""},
		{"reply to nobody", &handlerpb.Verdict{Replies: []*handlerpb.Reply{ok("a", 7)}}, "unknown recipient 7"},
		{"empty reply", &handlerpb.Verdict{Replies: []*handlerpb.Reply{ok("", handlerpb.Reply_EVERYONE)}}, "empty text"},
		{"too many replies", &handlerpb.Verdict{Replies: make([]*handlerpb.Reply, maxReplies+1)}, "at most"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decide(tc.v)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("decide: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("decide: %v, want an error with %q", err, tc.err)
			case tc.err == "" && len(d.replies) != len(tc.v.Replies):
				t.Errorf("%d replies, want %d", len(d.replies), len(tc.v.Replies))
			}
		})
	}
}

func TestParseEvents(t *testing.T) {
	s, err := parseEvents([]string{"message", "leave"})
	if err != nil || s != evMessage|evLeave || eventList(s) != "message,leave" {
		t.Errorf("parseEvents: %v %v %q", s, err, eventList(s))
	}
	if _, err := parseEvents([]string{"Message"}); err == nil || !strings.Contains(err.Error(), "known: message, join, leave, rename") {
		t.Errorf("an unknown event: %v", err)
	}
}
