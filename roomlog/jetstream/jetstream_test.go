package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/natstest"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/roomlog/jetstream"
	"github.com/udpchat/udpchat/roomlog/roomlogtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openOn opens a log on nc, closed when t ends.
func openOn(t testing.TB, nc *nats.Conn, cfg core.RoomLogConfig, opts jetstream.Options) *jetstream.Log {
	t.Helper()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	l, err := jetstream.Open(t.Context(), js, cfg, opts)
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// open opens a log on a server of its own, so that every log the suite
// opens starts with no rooms.
func open(t *testing.T, cfg core.RoomLogConfig) core.RoomLog {
	t.Helper()
	nc := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	return openOn(t, nc, cfg, jetstream.Options{})
}

func TestConformance(t *testing.T) { roomlogtest.TestRoomLog(t, open) }

// TestConformanceAlone: a log alone on its NATS, which sends no live
// messages, passes the suite all the same: its own appends wake its Wait.
func TestConformanceAlone(t *testing.T) {
	roomlogtest.TestRoomLog(t, func(t *testing.T, cfg core.RoomLogConfig) core.RoomLog {
		nc := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
		return openOn(t, nc, cfg, jetstream.Options{Alone: true})
	})
}

// TestAloneThenShared: a room made by a log alone has no live messages; a
// log that is not alone gives them back when it first touches the room,
// so that a server that joins a cluster tells the others of its appends,
// at once, not at the next poll; and a log alone takes them away again.
func TestAloneThenShared(t *testing.T) {
	nc := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	live := func() bool {
		t.Helper()
		js, err := natsjs.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		s, err := js.Stream(ctx(t), jetstream.StreamPrefix+"lobby")
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().Config.RePublish != nil
	}
	alone := openOn(t, nc, core.RoomLogConfig{}, jetstream.Options{Alone: true})
	if _, err := alone.Append(ctx(t), "lobby", roomlogtest.Message(1)); err != nil {
		t.Fatal(err)
	}
	if live() {
		t.Fatal("a room made by a log alone sends live messages")
	}
	alone.Close()

	shared := openOn(t, nc, core.RoomLogConfig{}, jetstream.Options{Poll: time.Hour})
	other := openOn(t, nc, core.RoomLogConfig{}, jetstream.Options{Poll: time.Hour})
	b, err := shared.Bounds(ctx(t), "lobby")
	if err != nil {
		t.Fatal(err)
	}
	if !live() {
		t.Fatal("a log that is not alone left the room without live messages")
	}
	if _, err := other.Bounds(ctx(t), "lobby"); err != nil {
		t.Fatal(err)
	}
	woke := make(chan error, 1)
	go func() { woke <- shared.Wait(ctx(t), "lobby", b.Epoch, b.Next-1) }()
	if _, err := other.Append(ctx(t), "lobby", roomlogtest.Message(2)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-woke:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("another log's append did not wake Wait (polls an hour apart): no live message")
	}
	shared.Close()
	other.Close()

	again := openOn(t, nc, core.RoomLogConfig{}, jetstream.Options{Alone: true})
	if _, err := again.Bounds(ctx(t), "lobby"); err != nil {
		t.Fatal(err)
	}
	if live() {
		t.Fatal("a log alone left the room's live messages on")
	}
}

func BenchmarkAppend(b *testing.B) {
	nc := natstest.Connect(b, natstest.Start(b, natstest.Options{}))
	roomlogtest.BenchmarkAppend(b, openOn(b, nc, core.RoomLogConfig{}, jetstream.Options{}))
}

func BenchmarkPipelined(b *testing.B) {
	for _, alone := range []bool{false, true} {
		b.Run(fmt.Sprintf("alone=%v", alone), func(b *testing.B) {
			nc := natstest.Connect(b, natstest.Start(b, natstest.Options{}))
			roomlogtest.BenchmarkPipelined(b, openOn(b, nc, core.RoomLogConfig{}, jetstream.Options{Alone: alone}), 64)
		})
	}
}

func BenchmarkRead(b *testing.B) {
	for _, batch := range []int{1, 16, 64} {
		b.Run(fmt.Sprint(batch), func(b *testing.B) {
			nc := natstest.Connect(b, natstest.Start(b, natstest.Options{}))
			roomlogtest.BenchmarkRead(b, openOn(b, nc, core.RoomLogConfig{}, jetstream.Options{}), batch)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestDuplicatePublish: a publish sent again with its message id, as
// Append does when an ack is lost, is stored once: the stream answers with
// the first one's offset.
func TestDuplicatePublish(t *testing.T) {
	nc := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	l := openOn(t, nc, core.RoomLogConfig{}, jetstream.Options{})
	data := jetstream.Encode(roomlogtest.Message(1))
	first, dup, err := jetstream.PublishWithID(l, "lobby", data, "id-1")
	if err != nil || dup {
		t.Fatalf("first publish: offset %d, duplicate %v, %v", first, dup, err)
	}
	again, dup, err := jetstream.PublishWithID(l, "lobby", data, "id-1")
	if err != nil || !dup || again != first {
		t.Fatalf("publish again with the same id: offset %d, duplicate %v, %v; want offset %d, a duplicate", again, dup, err, first)
	}
	if b, err := l.Bounds(ctx(t), "lobby"); err != nil || b.Len() != 1 {
		t.Fatalf("Bounds %+v, %v: want the one entry", b, err)
	}
	if e, err := l.Append(ctx(t), "lobby", roomlogtest.Message(2)); err != nil || e.Offset != first+1 {
		t.Fatalf("Append after: offset %d, %v; want %d", e.Offset, err, first+1)
	}
}

// TestStreamDeleted: a room's stream deleted under the log is a log lost:
// the next append starts a new epoch at offset 1, and a reader waiting in
// the old epoch wakes.
func TestStreamDeleted(t *testing.T) {
	nc := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	l := openOn(t, nc, core.RoomLogConfig{}, jetstream.Options{Poll: 50 * time.Millisecond})
	for i := range 3 {
		if _, err := l.Append(ctx(t), "lobby", roomlogtest.Message(i)); err != nil {
			t.Fatal(err)
		}
	}
	old, err := l.Bounds(ctx(t), "lobby")
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- l.Wait(ctx(t), "lobby", old.Epoch, old.Next-1) }()
	js, _ := natsjs.New(nc)
	if err := js.DeleteStream(ctx(t), jetstream.StreamPrefix+"lobby"); err != nil {
		t.Fatal(err)
	}
	e, err := l.Append(ctx(t), "lobby", roomlogtest.Message(4))
	if err != nil || e.Offset != 1 {
		t.Fatalf("Append after the stream was deleted: offset %d, %v; want offset 1", e.Offset, err)
	}
	b, err := l.Bounds(ctx(t), "lobby")
	if err != nil || b.Epoch == old.Epoch || b.First != 1 || b.Next != 2 {
		t.Fatalf("Bounds after: %+v, %v; want a new epoch (was %d), First 1, Next 2", b, err, old.Epoch)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("Wait in the old epoch: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait in the old epoch did not wake")
	}
}

// TestServerDown: with the NATS server gone, Append and Read fail with an
// error that says so (and wraps the cause), within their context; with
// the server back on the same store, the log works again, its entries and
// epoch kept.
func TestServerDown(t *testing.T) {
	dir := t.TempDir()
	s := natstest.Start(t, natstest.Options{Dir: dir, Port: -1})
	port := s.Addr().(*net.TCPAddr).Port
	nc := natstest.Connect(t, s)
	l := openOn(t, nc, core.RoomLogConfig{}, jetstream.Options{Timeout: time.Second})
	if _, err := l.Append(ctx(t), "lobby", roomlogtest.Message(1)); err != nil {
		t.Fatal(err)
	}
	before, _ := l.Bounds(ctx(t), "lobby")
	natstest.Stop(s)

	c, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := l.Append(c, "lobby", roomlogtest.Message(2))
	if err == nil || !strings.Contains(err.Error(), "NATS server unreachable") || !strings.Contains(err.Error(), `room "lobby"`) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Append with the server down: %v; want an error naming the room, the unreachable server, and the deadline", err)
	}
	if _, _, err := l.Read(context.Background(), "lobby", 1, 10, nil); err == nil || !strings.Contains(err.Error(), "NATS server unreachable") {
		t.Errorf("Read with the server down: %v; want an error naming the unreachable server", err)
	}
	t.Logf("append: %v", err)

	natstest.Start(t, natstest.Options{Dir: dir, Port: port})
	testkit.WaitUntil(t, "an append with the server back", func() bool {
		c, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := l.Append(c, "lobby", roomlogtest.Message(3))
		return err == nil
	})
	got, b, err := l.Read(ctx(t), "lobby", 1, 10, nil)
	if err != nil || b.Epoch != before.Epoch || len(got) < 2 || got[0].Message.Text != "message 1" {
		t.Fatalf("Read with the server back: %d entries, %+v, %v; want message 1 first, in epoch %d", len(got), b, err, before.Epoch)
	}
}

// TestWaitOtherLog: a Wait wakes for an append made through another Log
// on the same streams, as another server's.
func TestWaitOtherLog(t *testing.T) {
	s := natstest.Start(t, natstest.Options{})
	// A poll too slow to matter: the live message must do it.
	a := openOn(t, natstest.Connect(t, s), core.RoomLogConfig{}, jetstream.Options{Poll: time.Hour})
	b := openOn(t, natstest.Connect(t, s), core.RoomLogConfig{}, jetstream.Options{Poll: time.Hour})
	bounds, err := a.Bounds(ctx(t), "lobby")
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- a.Wait(ctx(t), "lobby", bounds.Epoch, 0) }()
	e, err := b.Append(ctx(t), "lobby", roomlogtest.Message(1))
	if err != nil || e.Offset != 1 {
		t.Fatalf("append through the other log: %+v, %v", e, err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	got, rb, err := a.Read(ctx(t), "lobby", 1, 10, nil)
	if err != nil || len(got) != 1 || rb.Epoch != bounds.Epoch || !roomlogtest.Same(&got[0].Message, roomlogtest.Message(1)) {
		t.Fatalf("Read of the other log's append: %+v, %+v, %v", got, rb, err)
	}
}

// TestWaitLostNotification: a live message lost (core NATS delivers at
// most once) does not leave a waiter hanging: the poll wakes it. And a
// gap, a live message after a lost one, is noticed.
func TestWaitLostNotification(t *testing.T) {
	s := natstest.Start(t, natstest.Options{})
	a := openOn(t, natstest.Connect(t, s), core.RoomLogConfig{}, jetstream.Options{Poll: 100 * time.Millisecond})
	b := openOn(t, natstest.Connect(t, s), core.RoomLogConfig{}, jetstream.Options{})
	dropped := make(chan uint64, 10)
	jetstream.SetDropLive(a, func(room string, seq uint64) bool {
		if seq%2 == 1 {
			dropped <- seq
			return true
		}
		return false
	})
	bounds, err := a.Bounds(ctx(t), "lobby")
	if err != nil {
		t.Fatal(err)
	}
	for after := uint64(0); after < 4; after++ {
		waited := make(chan error, 1)
		go func() { waited <- a.Wait(ctx(t), "lobby", bounds.Epoch, after) }()
		if _, err := b.Append(ctx(t), "lobby", roomlogtest.Message(int(after))); err != nil {
			t.Fatal(err)
		}
		if err := <-waited; err != nil {
			t.Fatalf("Wait after %d: %v", after, err)
		}
	}
	if len(dropped) != 2 {
		t.Fatalf("%d live messages dropped, want 2 (offsets 1 and 3)", len(dropped))
	}
}

// TestReadFollowsLive: a log following a room another log appends to
// (another server's) reads what is new from the live messages it was sent,
// without a round trip to NATS, and reads the same entries and bounds as
// the stream holds, retention included.
func TestReadFollowsLive(t *testing.T) {
	s := natstest.Start(t, natstest.Options{})
	nc := natstest.Connect(t, s)
	cfg := core.RoomLogConfig{MaxEntries: 10}
	follower := openOn(t, nc, cfg, jetstream.Options{})
	appender := openOn(t, natstest.Connect(t, s), cfg, jetstream.Options{})
	start, err := follower.Bounds(ctx(t), "lobby")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 15; i++ {
		if _, err := appender.Append(ctx(t), "lobby", roomlogtest.Message(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := follower.Wait(ctx(t), "lobby", start.Epoch, 14); err != nil {
		t.Fatal(err)
	}
	sent := nc.Stats().OutMsgs
	got, b, err := follower.Read(ctx(t), "lobby", 1, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := nc.Stats().OutMsgs - sent; n != 0 {
		t.Errorf("a read at the head sent %d messages to NATS, want none", n)
	}
	want, err := appender.Bounds(ctx(t), "lobby")
	if err != nil {
		t.Fatal(err)
	}
	if b != want || want.First != 6 || want.Next != 16 {
		t.Errorf("bounds %+v, the stream's %+v: want First 6, Next 16", b, want)
	}
	if len(got) != 10 || got[0].Offset != 6 || !roomlogtest.Same(&got[9].Message, roomlogtest.Message(15)) {
		t.Fatalf("read %d entries from %d, want 6 to 15", len(got), got[0].Offset)
	}
	for _, e := range got {
		if !roomlogtest.Same(&e.Message, roomlogtest.Message(int(e.Offset))) {
			t.Errorf("offset %d holds %q", e.Offset, e.Message.Text)
		}
	}
}

// TestMaxRooms: MaxRooms counts the rooms' streams on NATS, whichever log
// made them, and a room past it is refused with core.ErrTooManyRooms.
func TestMaxRooms(t *testing.T) {
	s := natstest.Start(t, natstest.Options{})
	cfg := core.RoomLogConfig{MaxRooms: 2}
	a := openOn(t, natstest.Connect(t, s), cfg, jetstream.Options{})
	b := openOn(t, natstest.Connect(t, s), cfg, jetstream.Options{})
	if _, err := a.Append(ctx(t), "one", roomlogtest.Message(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Bounds(ctx(t), "two"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*jetstream.Log{a, b} {
		if _, err := l.Append(ctx(t), "three", roomlogtest.Message(1)); !errors.Is(err, core.ErrTooManyRooms) {
			t.Errorf("Append to a third room: %v, want core.ErrTooManyRooms", err)
		}
		if _, err := l.Bounds(ctx(t), "three"); !errors.Is(err, core.ErrTooManyRooms) {
			t.Errorf("Bounds of a third room: %v, want core.ErrTooManyRooms", err)
		}
	}
	if _, err := b.Append(ctx(t), "one", roomlogtest.Message(2)); err != nil {
		t.Errorf("Append to a room another log made: %v", err)
	}
}
