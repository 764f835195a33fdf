package server_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

// gateDir is a directory of one server whose Claim of the name held waits
// until the test opens gate, as a directory a round trip away takes its
// time; it says on claiming when that Claim has begun.
type gateDir struct {
	held     string
	claiming chan struct{}
	gate     chan struct{}
}

func (d *gateDir) Open(context.Context, core.DeliverFunc) (core.Presence, error) { return d, nil }

func (d *gateDir) Claim(ctx context.Context, name string, _, _ uint64) (bool, error) {
	if name == d.held {
		close(d.claiming)
		select {
		case <-d.gate:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return false, nil
}

func (d *gateDir) Release(context.Context, string, uint64) (bool, error) { return false, nil }
func (d *gateDir) Users(context.Context, int) ([]core.User, int, error)  { return nil, 0, nil }
func (d *gateDir) Send(context.Context, *core.Message) error             { return core.ErrNoSuchUser }
func (d *gateDir) Close() error                                          { return nil }

// TestConfirmingSessionShownOnce: a message that reaches the room while a
// session confirms (its nickname being claimed, its cursor not yet placed)
// is shown to it once, after it is placed, not once from the log's start
// and again from where it joined (TestEndToEnd showed a line twice, now
// and then, under load).
func TestConfirmingSessionShownOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newMemLog(t)
		dir := &gateDir{held: "bob", claiming: make(chan struct{}), gate: make(chan struct{})}
		room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(),
			Server: func(cfg *server.Config) { cfg.RoomLog, cfg.Directory = log, dir }})
		alice := room.JoinWith(nick("alice"))
		alice.WaitDelivered(alice.Say("before bob"))

		bob := room.JoinWith(nick("bob"))
		<-dir.claiming // bob is confirmed, and his name being claimed
		if _, err := log.Append(context.Background(), "lobby", &core.Message{Kind: core.KindChat, From: "zed", Text: "while bob confirms", Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the server has done all it does with it before bob is placed
		close(dir.gate)
		alice.WaitDelivered(alice.Say("after bob"))

		got := bob.WaitUntil("after bob", func(ms []core.Message) bool {
			return len(ms) > 0 && ms[len(ms)-1].Text == "after bob"
		})
		var shown []string
		for _, m := range got {
			if m.Kind == core.KindChat {
				shown = append(shown, m.Text)
			}
		}
		if len(shown) != 2 || shown[0] != "while bob confirms" || shown[1] != "after bob" {
			t.Fatalf("bob was shown %q, want [while bob confirms, after bob]", shown)
		}
	})
}
