package server_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
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

// newMemLog is an in-memory room log, closed when the test ends, for a
// test to give a server (Config.RoomLog) and reach around it.
func newMemLog(t *testing.T) *memlog.Log {
	t.Helper()
	log, err := memlog.New(memlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	return log
}

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
		log := newMemLog(t)
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

// resettableLog is a room log that can be lost and started again, as a
// JetStream stream deleted and created anew: reset puts a new in-memory
// log, with a new epoch, in its place, and wakes whoever waits on the old.
type resettableLog struct {
	core.RoomLog
	mu      sync.Mutex
	cur     *memlog.Log
	old     []*memlog.Log
	changed chan struct{}
}

func newResettableLog(t *testing.T) *resettableLog {
	l := &resettableLog{changed: make(chan struct{})}
	l.reset(t)
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, old := range append(l.old, l.cur) {
			old.Close()
		}
	})
	return l
}

func (l *resettableLog) reset(t *testing.T) {
	t.Helper()
	log, err := memlog.New(memlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != nil {
		l.old = append(l.old, l.cur)
		close(l.changed)
		l.changed = make(chan struct{})
	}
	l.cur, l.RoomLog = log, log
}

func (l *resettableLog) log() (*memlog.Log, chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur, l.changed
}

func (l *resettableLog) Append(ctx context.Context, room string, m *core.Message) (core.LogEntry, error) {
	cur, _ := l.log()
	return cur.Append(ctx, room, m)
}

func (l *resettableLog) Read(ctx context.Context, room string, from uint64, max int, dst []core.LogEntry) ([]core.LogEntry, core.LogBounds, error) {
	cur, _ := l.log()
	return cur.Read(ctx, room, from, max, dst)
}

func (l *resettableLog) Bounds(ctx context.Context, room string) (core.LogBounds, error) {
	cur, _ := l.log()
	return cur.Bounds(ctx, room)
}

func (l *resettableLog) Wait(ctx context.Context, room string, epoch, after uint64) error {
	cur, changed := l.log()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-changed:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := cur.Wait(ctx, room, epoch, after)
	select {
	case <-changed:
		return nil // the log was lost: the caller finds a new epoch
	default:
		return err
	}
}

// TestFollowerNewEpoch: when the room log is lost and starts again (a new
// epoch), the follower tells each version 2 recipient, which gets the new
// epoch (its client says it missed messages) and then what is appended to
// the new log, numbered in it; seed clients get it too.
func TestFollowerNewEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := newResettableLog(t)
		room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Server: func(cfg *server.Config) { cfg.RoomLog = logs }})
		bob := room.JoinWith(nick("bob"))
		seed := listenRaw(t, room, 0)
		elsewhere := func(text string) {
			t.Helper()
			if _, err := logs.Append(context.Background(), "lobby", &core.Message{Kind: core.KindChat, From: "zed", Text: text, Time: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		bob.WaitChat(1) // the seed client's "here"
		elsewhere("old")
		bob.WaitChat(2)
		if got := seed.ReadChat(); got != "<zed> old" {
			t.Fatalf("the seed client got %q", got)
		}
		synctest.Wait()

		logs.reset(t)
		bob.WaitNotice("missed messages")
		synctest.Wait()
		elsewhere("new")
		got := bob.WaitChat(3)
		if got[2].Text != "new" || got[2].ID != 1 {
			t.Fatalf("after the new epoch bob got %q at offset %d, want \"new\" at 1", got[2].Text, got[2].ID)
		}
		cur, _ := logs.log()
		if ticket := bob.WaitTicket(); ticket.Epoch != cur.Epoch() {
			t.Fatalf("bob's ticket is in epoch %d, the log's is %d", ticket.Epoch, cur.Epoch())
		}
		if got := seed.ReadChat(); got != "<zed> new" {
			t.Fatalf("the seed client got %q", got)
		}
	})
}
