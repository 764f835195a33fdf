package core

import (
	"testing"
	"time"
)

// TestV1Text: what a seed client is shown for each kind of message, the
// string and the bytes appended alike.
func TestV1Text(t *testing.T) {
	at := time.Date(2026, 12, 6, 14, 5, 0, 0, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		m    Message
		want string
	}{
		{Message{Kind: KindChat, From: "alice", Text: "hi"}, "<alice> hi"},
		{Message{Kind: KindAction, From: "alice", Text: "waves"}, "* alice waves"},
		{Message{Kind: KindPrivate, From: "bob", Text: "psst"}, "<bob> [private] psst"},
		{Message{Kind: KindHistory, From: "bob", Text: "earlier", Time: at}, "<bob> [history 13:05] earlier"},
		{Message{Kind: KindSystem, From: "server", Text: ""}, "<server> "},
	} {
		if got := tc.m.V1Text(); got != tc.want {
			t.Errorf("V1Text of %+v = %q, want %q", tc.m, got, tc.want)
		}
		if got := string(tc.m.AppendV1Text([]byte("x"))); got != "x"+tc.want {
			t.Errorf("AppendV1Text of %+v to %q = %q, want %q", tc.m, "x", got, "x"+tc.want)
		}
	}
}
