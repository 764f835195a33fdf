package server_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/window"
	memlog "github.com/udpchat/udpchat/roomlog/memory"
	"github.com/udpchat/udpchat/server"
)

// pipeLog is a room log that pipelines appends as JetStream's does, held
// back until the test opens its gate: StartAppend says it was called and
// returns at once; the append itself is made when the server waits on it,
// after the gate, and one whose text is "lost" fails, as a publish the log
// never took.
type pipeLog struct {
	*memlog.Log
	gate    chan struct{}
	started chan string
	// ackAfter is how long an append's result takes to come back once
	// the entry is in the log, as JetStream's ack can come after its
	// live message.
	ackAfter time.Duration
}

func (l *pipeLog) StartAppend(_ context.Context, room string, m *core.Message) func(context.Context) (core.LogEntry, error) {
	c := *m
	l.started <- c.Text
	return func(ctx context.Context) (core.LogEntry, error) {
		select {
		case <-l.gate:
		case <-ctx.Done():
			return core.LogEntry{}, ctx.Err()
		}
		if c.Text == "lost" {
			return core.LogEntry{}, errors.New("pipeLog: the publish was not taken")
		}
		e, err := l.Log.Append(ctx, room, &c)
		time.Sleep(l.ackAfter)
		return e, err
	}
}

// TestPipelinedAppends: with a log that pipelines appends, a line is
// acknowledged only once its append is done, a line whose append fails is
// refused to its sender and never shown, and the lines around it reach the
// room in the order sent.
func TestPipelinedAppends(t *testing.T) {
	log := newMemLog(t)
	pl := &pipeLog{Log: log, gate: make(chan struct{}), started: make(chan string, 16)}
	// The window layer, so that the three lines are in flight at once.
	room := chattest.Start(t, chattest.Options{Layer: window.Layer{}, Server: func(cfg *server.Config) { cfg.RoomLog = pl }})
	alice, bob := room.JoinWith(nick("alice")), room.JoinWith(nick("bob"))

	texts := []string{"one", "lost", "three"}
	var ids []uint64
	for _, text := range texts {
		ids = append(ids, alice.Say(text))
	}
	for _, want := range texts {
		select {
		case got := <-pl.started:
			if got != want {
				t.Fatalf("append started for %q, want %q: not in the order sent", got, want)
			}
		case <-time.After(chattest.Timeout):
			t.Fatalf("no append started for %q", want)
		}
	}
	// Every append is under way and none done: nothing is acknowledged
	// or shown yet.
	for i, id := range ids {
		if delivered, refused := alice.Settled(id); delivered || refused != "" {
			t.Fatalf("%q was settled (delivered %v, refused %q) before its append was done", texts[i], delivered, refused)
		}
	}
	if got := bob.Chat(); len(got) != 0 {
		t.Fatalf("bob was shown %v before the appends were done", got)
	}
	close(pl.gate)

	if delivered, _, failed := alice.WaitVerdict(ids[0]); !delivered || failed != nil {
		t.Fatalf("%q: delivered %v, failed %v; want delivered", texts[0], delivered, failed)
	}
	if delivered, refused, _ := alice.WaitVerdict(ids[1]); delivered || refused != "the server could not handle your message" {
		t.Fatalf("%q whose append failed: delivered %v, refused %q; want refused, saying the server could not handle it", texts[1], delivered, refused)
	}
	if delivered, _, failed := alice.WaitVerdict(ids[2]); !delivered || failed != nil {
		t.Fatalf("%q: delivered %v, failed %v; want delivered", texts[2], delivered, failed)
	}
	alice.WaitDelivered(alice.Say("four"))
	got := bob.WaitChat(3)
	var shown []string
	for _, m := range got {
		shown = append(shown, m.Text)
	}
	if len(shown) != 3 || shown[0] != "one" || shown[1] != "three" || shown[2] != "four" {
		t.Fatalf("bob was shown %q, want [one three four]", shown)
	}
}

// boundsCounter counts the round trips a server makes to learn the log's
// bounds.
type boundsCounter struct {
	*pipeLog
	bounds atomic.Int64
}

func (l *boundsCounter) Bounds(ctx context.Context, room string) (core.LogBounds, error) {
	l.bounds.Add(1)
	return l.pipeLog.Bounds(ctx, room)
}

// TestOwnAppendsNotFollowed: with appends pipelined, the log tells the
// server's follower of its own appends before the committer has taken them
// in (here each append's result comes 2 ms after its entry is in the log); the follower waits for the committer rather than go to the log for
// them as for another server's: 100 lines cost no round trip for the log's
// bounds.
func TestOwnAppendsNotFollowed(t *testing.T) {
	log := newMemLog(t)
	gate := make(chan struct{})
	close(gate)
	bc := &boundsCounter{pipeLog: &pipeLog{Log: log, gate: gate, started: make(chan string, 1000), ackAfter: 2 * time.Millisecond}}
	room := chattest.Start(t, chattest.Options{Layer: window.Layer{}, Server: func(cfg *server.Config) {
		cfg.RoomLog = bc
		cfg.RateLimit = server.RateLimit{}
	}})
	alice, bob := room.JoinWith(nick("alice")), room.JoinWith(nick("bob"))
	alice.WaitDelivered(alice.Say("hello"))
	bob.WaitChat(1)
	before := bc.bounds.Load()
	var ids []uint64
	for i := range 100 {
		ids = append(ids, alice.Say(fmt.Sprintf("line %d", i)))
	}
	alice.WaitDelivered(ids...)
	bob.WaitChat(101)
	if n := bc.bounds.Load() - before; n > 2 {
		t.Fatalf("the server asked the log for its bounds %d times for 100 lines of its own", n)
	}
}
