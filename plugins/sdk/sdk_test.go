package sdk

import (
	"reflect"
	"testing"
)

func TestVerdicts(t *testing.T) {
	cases := []struct {
		got, want Verdict
	}{
		{Pass(), Verdict{Action: ActionPass}},
		{Replace("x"), Verdict{Action: ActionReplace, Text: "x"}},
		{Reject("no"), Verdict{Action: ActionReject, Reason: "no"}},
		{Drop(), Verdict{Action: ActionDrop}},
		{Pass().WithReply(ToEveryone, "a").WithReply(ToSender, "b"),
			Verdict{Replies: []Reply{{ToEveryone, "a"}, {ToSender, "b"}}}},
	}
	for i, tc := range cases {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%d: %+v, want %+v", i, tc.got, tc.want)
		}
	}
}

// TestWithReplyCopies checks that verdicts built from one base do not share
// their replies.
func TestWithReplyCopies(t *testing.T) {
	base := Pass().WithReply(ToEveryone, "base")
	base.Replies = append(make([]Reply, 0, 4), base.Replies...) // room to grow in place
	a := base.WithReply(ToSender, "a")
	b := base.WithReply(ToSender, "b")
	if a.Replies[1].Text != "a" || b.Replies[1].Text != "b" || len(base.Replies) != 1 {
		t.Errorf("a %v, b %v, base %v", a.Replies, b.Replies, base.Replies)
	}
}
