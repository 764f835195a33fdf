package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/window"
	"github.com/udpchat/udpchat/server"
)

// refuseForbidden is a filter: it refuses any message that says "forbidden".
func refuseForbidden(next core.Handler) core.Handler {
	return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
		if strings.Contains(m.Text, "forbidden") {
			return &core.Rejection{Reason: "the filter does not allow that word"}
		}
		return next.HandleMessage(ctx, m)
	})
}

func filtered(cfg *server.Config) { cfg.Handlers = append(cfg.Handlers, refuseForbidden) }

// wantVerdict waits for message id's verdict: delivered if refused is "",
// otherwise refused with a reason that contains it, and never delivered.
func wantVerdict(t *testing.T, c *chattest.Client, id uint64, what, refused string) {
	t.Helper()
	delivered, why, failed := c.WaitVerdict(id)
	switch {
	case failed != nil:
		t.Fatalf("%s: failed: %v", what, failed)
	case refused == "" && (!delivered || why != ""):
		t.Fatalf("%s: delivered %v, refused %q; want delivered", what, delivered, why)
	case refused != "" && (delivered || !strings.Contains(why, refused)):
		t.Fatalf("%s: delivered %v, refused %q; want refused with %q, never delivered", what, delivered, why, refused)
	}
}

// TestVerdicts: a version 2 client is told, message by message, which the
// server accepted and which it refused and why: a filter, a /msg to
// nobody, an unknown command; with either reliability layer.
func TestVerdicts(t *testing.T) {
	for _, layer := range []core.Reliability{nil, window.Layer{}} {
		name := "stopwait"
		if layer != nil {
			name = layer.Name()
		}
		t.Run(name, func(t *testing.T) {
			room := chattest.Start(t, chattest.Options{Layer: layer, Server: filtered})
			alice, bob := room.JoinWith(nick("alice")), room.JoinWith(nick("bob"))
			bob.WaitDelivered(bob.Say("bob is here")) // the server knows bob by name
			cases := []struct{ text, refused string }{
				{"hello", ""},
				{"a forbidden word", "the filter does not allow that word"},
				{"/msg nobody hi", "no such user: nobody"},
				{"/msg bob hi", ""},
				{"/dance", "unknown command /dance"},
				{"bye", ""},
			}
			ids := make([]uint64, len(cases))
			for i, c := range cases {
				ids[i] = alice.Say(c.text) // all at once: with a window, several in flight
			}
			for i, c := range cases {
				wantVerdict(t, alice, ids[i], c.text, c.refused)
			}
			// The refusals are still noticed, as before, for every UI.
			alice.WaitMessage("the filter's notice", func(m core.Message) bool {
				return m.Kind == core.KindError && strings.Contains(m.Text, "does not allow")
			})
			if got := texts(bob.WaitChat(3)); strings.Join(got, "|") != "hello|hi|bye" {
				t.Fatalf("bob got %q", got)
			}
		})
	}
}

// TestVerdictRateLimit: a message over the rate limit waits and is
// delivered (its ACK held for the wait); one that would wait longer than
// the limit's MaxLag is refused, with the limit's reason.
func TestVerdictRateLimit(t *testing.T) {
	for _, tt := range []struct {
		name  string
		limit server.RateLimit
		want  []string // each line's refusal, "" for delivered
	}{
		// A fifth of a second a line, well within what a client waits.
		{"delayed", server.RateLimit{Rate: 5, Burst: 2, MaxLag: time.Second}, []string{"", "", "", ""}},
		{"past the bound", server.RateLimit{Rate: 0.001, Burst: 2, MaxLag: time.Second}, []string{"", "", "slow down", "slow down"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) { cfg.RateLimit = tt.limit }})
			alice := room.JoinWith(nick("alice"))
			var ids []uint64
			start := time.Now()
			for i := range tt.want {
				ids = append(ids, alice.Say(fmt.Sprintf("line %d", i)))
			}
			for i, refused := range tt.want {
				wantVerdict(t, alice, ids[i], fmt.Sprintf("line %d", i), refused)
			}
			if tt.want[len(tt.want)-1] == "" {
				over := len(tt.want) - tt.limit.Burst
				if took, least := time.Since(start), time.Duration(float64(over)/tt.limit.Rate*float64(time.Second)); took < least {
					t.Fatalf("%d lines delivered in %v, faster than the limit allows (%v)", len(tt.want), took, least)
				}
			}
		})
	}
}

// TestVerdictDuplicate: the ACK of a duplicate DATA, sent again because the
// first ACK was lost, says what the first one said.
func TestVerdictDuplicate(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	r := room.Raw()
	r.HandshakeV2(chattest.Keys.Key(0), "raw")

	ackOf := func(seq uint64) string {
		t.Helper()
		p, plain := r.OpenV2(core.TypeAck)
		if p.AckSeq != seq {
			t.Fatalf("ACK of %d, want %d", p.AckSeq, seq)
		}
		return string(plain)
	}
	var refused *core.Packet
	const why = "no such user: nobody"
	for i, step := range []struct {
		send func()
		seq  uint64
		want string
	}{
		{func() { refused = r.SendV2Data(0, "/msg nobody hi") }, 0, why},
		{func() { r.SendPacket(refused) }, 0, why}, // its ACK was lost
		{func() { r.SendV2Data(1, "fine") }, 1, ""},
		{func() { r.SendV2Data(1, "fine") }, 1, ""},
		{func() { r.SendPacket(refused) }, 0, why}, // later still
	} {
		step.send()
		if got := ackOf(step.seq); got != step.want {
			t.Fatalf("step %d: ACK of seq %d says %q, want %q", i, step.seq, got, step.want)
		}
	}
}

// TestVerdictLongReason: a reason too long for an ACK is cut short, and the
// ACK still arrives.
func TestVerdictLongReason(t *testing.T) {
	long := strings.Repeat("é", 2000)
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		cfg.Handlers = append(cfg.Handlers, func(core.Handler) core.Handler {
			return core.HandlerFunc(func(context.Context, *core.Message) error { return &core.Rejection{Reason: long} })
		})
	}})
	alice := room.JoinWith(nick("alice"))
	_, why, _ := alice.WaitVerdict(alice.Say("anything"))
	if !strings.HasPrefix(why, "éé") || !strings.HasSuffix(why, "…") || len(why) > 400 {
		t.Fatalf("refused %d bytes: %q", len(why), why)
	}
}

// TestVerdictV1: a version 1 ACK cannot say "refused": the seed's client
// sees it delivered, and is told by the notice alone.
func TestVerdictV1(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Suite: seed.Suite{}, Server: filtered})
	old := room.JoinWith(func(cfg *client.Config) { cfg.MaxVersion = 1 })
	wantVerdict(t, old, old.Say("a forbidden word"), "version 1", "")
	old.WaitMessage("the notice", func(m core.Message) bool { return strings.Contains(m.Text, "does not allow") })
}

// TestVerdictHeldAckTwice: the ACK of a DATA the server holds behind a gap
// says nothing yet and goes twice, the same datagram (core.AckCopies), for
// it is the client's only word of the DATA until the gap fills; once the
// gap fills, each gets its verdict once, and a cumulative part that covers
// it.
func TestVerdictHeldAckTwice(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Layer: window.Layer{}, Server: noRateLimit})
	r := room.Raw()
	r.HandshakeV2(chattest.Keys.Key(0), "raw")
	// acks returns the ACKs that come within a while, as
	// "ack_seq/cum/verdict".
	acks := func() []string {
		t.Helper()
		var got []string
		for p := r.Read(300 * time.Millisecond); p != nil; p = r.Read(300 * time.Millisecond) {
			if p.Type != core.TypeAck {
				continue
			}
			plain, err := r.Keys.Open(nil, p.Payload, p.AD())
			if err != nil {
				t.Fatalf("an ACK that does not open: %v", err)
			}
			got = append(got, fmt.Sprintf("%d/%d/%s", p.AckSeq, p.Cum, plain))
		}
		return got
	}
	r.SendV2Data(1, "/msg nobody hi")
	if got := fmt.Sprint(acks()); got != "[1/0/ 1/0/]" {
		t.Fatalf("ahead of a gap, the server sent ACKs %s, want [1/0/ 1/0/]", got)
	}
	r.SendV2Data(0, "hello")
	if got := fmt.Sprint(acks()); got != "[1/2/no such user: nobody 0/1/]" {
		t.Fatalf("filling the gap, the server sent ACKs %s, want the verdicts on 1, then on 0, once each", got)
	}
}
