package server_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	memlog "github.com/udpchat/udpchat/roomlog/memory"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

// flakyLog is a room log whose Wait fails while failing is set, as a log in
// another process does while the link to it is down, and counts how often
// it was asked.
type flakyLog struct {
	*memlog.Log
	failing atomic.Bool
	failed  atomic.Int64
}

func (l *flakyLog) Wait(ctx context.Context, room string, epoch, after uint64) error {
	if l.failing.Load() {
		l.failed.Add(1)
		return errors.New("flaky: link down")
	}
	return l.Log.Wait(ctx, room, epoch, after)
}

// TestFollowerBacksOff: a room log that fails is logged and asked again
// with a growing wait, not in a loop, and once it works again the entries
// another writer appended meanwhile reach the server's clients.
func TestFollowerBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, err := memlog.New(memlog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { log.Close() })
		flaky := &flakyLog{Log: log}
		var out testkit.Buffer
		room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Logger: slog.New(slog.NewTextHandler(&out, nil)),
			Server: func(cfg *server.Config) { cfg.RoomLog = flaky }})
		bob := room.JoinWith(nick("bob"))
		elsewhere := func(text string) {
			t.Helper()
			if _, err := log.Append(context.Background(), "lobby", &core.Message{Kind: core.KindChat, From: "zed", Text: text, Time: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}

		bob.WaitDelivered(bob.Say("hi")) // he is in the room
		synctest.Wait()                  // and the follower waits on the log
		flaky.failing.Store(true)
		elsewhere("before") // wakes the follower, whose next Wait fails
		bob.WaitChat(1)
		const down = 10 * time.Second
		time.Sleep(down)
		synctest.Wait()
		// 50 ms doubling to 5 s: 8 tries in 10 s.
		if n := flaky.failed.Load(); n < 2 || n > 10 {
			t.Fatalf("the failing log was asked %d times in %v, want a few", n, down)
		}
		if !strings.Contains(out.String(), "room log unreadable: other servers' messages wait") {
			t.Fatalf("the failures were not logged: %s", out.String())
		}

		elsewhere("during")
		flaky.failing.Store(false)
		elsewhere("after")
		got := bob.WaitChat(3)
		for i, want := range []string{"before", "during", "after"} {
			if got[i].Text != want || got[i].From != "zed" {
				t.Fatalf("message %d is %q from %s, want %q from zed", i, got[i].Text, got[i].From, want)
			}
		}
		t.Logf("the failing log was asked %d times in %v", flaky.failed.Load(), down)
	})
}
