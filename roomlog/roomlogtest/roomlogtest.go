// Package roomlogtest is the conformance suite of core.RoomLog, as
// transporttest is for transports: an exported function that any room log,
// in memory or in another process, calls from its own tests to be held to
// the contract in core/roomlog.go.
//
//	func TestRoomLog(t *testing.T) {
//		roomlogtest.TestRoomLog(t, func(t *testing.T, cfg core.RoomLogConfig) core.RoomLog {
//			l, err := mylog.Driver{}.Open(t.Context(), cfg)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return l
//		})
//	}
package roomlogtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Open opens an empty log of the implementation under test with cfg, as
// its driver would: the suite sets the retention it checks. The suite
// closes every log it opens when its test ends.
type Open func(t *testing.T, cfg core.RoomLogConfig) core.RoomLog

// waitLimit bounds every wait, so that a Wait that never wakes fails the
// test instead of hanging it. No check depends on how fast anything
// happens, only the ones that expect a deadline to pass, with tick.
const waitLimit = 10 * time.Second

// tick is the deadline of a Wait that must not wake: long enough that a
// wrong wake-up would come before it, short enough to be run often.
const tick = 20 * time.Millisecond

// TestRoomLog runs the conformance suite against the logs open opens, each
// part a subtest.
func TestRoomLog(t *testing.T, open Open) {
	t.Run("Names", func(t *testing.T) { TestNames(t, open) })
	t.Run("Empty", func(t *testing.T) { TestEmpty(t, open) })
	t.Run("Offsets", func(t *testing.T) { TestOffsets(t, open) })
	t.Run("StartAppend", func(t *testing.T) { TestStartAppend(t, open) })
	t.Run("Rooms", func(t *testing.T) { TestRooms(t, open) })
	t.Run("Read", func(t *testing.T) { TestRead(t, open) })
	t.Run("Messages", func(t *testing.T) { TestMessages(t, open) })
	t.Run("Retention", func(t *testing.T) { TestRetention(t, open) })
	t.Run("Wait", func(t *testing.T) { TestWait(t, open) })
	t.Run("Context", func(t *testing.T) { TestContext(t, open) })
	t.Run("Concurrent", func(t *testing.T) { TestConcurrent(t, open) })
	t.Run("Close", func(t *testing.T) { TestClose(t, open) })
}

// newLog opens a log with cfg, closed when the test ends.
func newLog(t *testing.T, open Open, cfg core.RoomLogConfig) core.RoomLog {
	t.Helper()
	l := open(t, cfg)
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// ctx is a context that ends with the test, or after waitLimit.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), waitLimit)
	t.Cleanup(cancel)
	return c
}

// Message is the suite's message number i: every field set, and a time in
// whole milliseconds, the precision a wire or a store keeps.
func Message(i int) *core.Message {
	return &core.Message{
		Kind:   core.KindChat,
		ID:     uint64(1000 + i),
		From:   "alice",
		Text:   fmt.Sprintf("message %d", i),
		Time:   time.UnixMilli(1_700_000_000_000 + int64(i)*1000),
		Origin: 7,
	}
}

// Same reports whether a and b are the same message: Time by instant, as a
// log that stores it elsewhere keeps neither its location nor its
// monotonic reading.
func Same(a, b *core.Message) bool {
	a2, b2 := *a, *b
	a2.Time, b2.Time = time.Time{}, time.Time{}
	return a2 == b2 && a.Time.Equal(b.Time)
}

// appendN appends Message(1) to Message(n) to room and checks their offsets
// follow from the room's Next.
func appendN(t *testing.T, l core.RoomLog, room string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		mustAppend(t, l, room, Message(i))
	}
}

func mustAppend(t *testing.T, l core.RoomLog, room string, m *core.Message) core.LogEntry {
	t.Helper()
	e, err := l.Append(ctx(t), room, m)
	if err != nil {
		t.Fatalf("Append(%q, %q): %v", room, m.Text, err)
	}
	return e
}

func mustBounds(t *testing.T, l core.RoomLog, room string) core.LogBounds {
	t.Helper()
	b, err := l.Bounds(ctx(t), room)
	if err != nil {
		t.Fatalf("Bounds(%q): %v", room, err)
	}
	return b
}

func mustRead(t *testing.T, l core.RoomLog, room string, from uint64, max int, dst []core.LogEntry) ([]core.LogEntry, core.LogBounds) {
	t.Helper()
	got, b, err := l.Read(ctx(t), room, from, max, dst)
	if err != nil {
		t.Fatalf("Read(%q, from %d, max %d): %v", room, from, max, err)
	}
	return got, b
}

// offsets lists the entries' offsets, for messages.
func offsets(es []core.LogEntry) []uint64 {
	o := make([]uint64, len(es))
	for i, e := range es {
		o[i] = e.Offset
	}
	return o
}

// TestNames: every method refuses a name CheckRoom refuses, with an error
// matching core.ErrRoomName, and appends nothing.
func TestNames(t *testing.T, open Open) {
	l := newLog(t, open, core.RoomLogConfig{})
	for _, name := range []string{"", "Lobby", "a.b", "a*", "a b", "-a", strings.Repeat("x", core.MaxRoom+1)} {
		m := Message(1)
		if _, err := l.Append(ctx(t), name, m); !errors.Is(err, core.ErrRoomName) {
			t.Errorf("Append(%q) = %v, want an error matching core.ErrRoomName", name, err)
		}
		if _, _, err := l.Read(ctx(t), name, 0, 10, nil); !errors.Is(err, core.ErrRoomName) {
			t.Errorf("Read(%q) = %v, want an error matching core.ErrRoomName", name, err)
		}
		if _, err := l.Bounds(ctx(t), name); !errors.Is(err, core.ErrRoomName) {
			t.Errorf("Bounds(%q) = %v, want an error matching core.ErrRoomName", name, err)
		}
		if err := l.Wait(ctx(t), name, 1, 0); !errors.Is(err, core.ErrRoomName) {
			t.Errorf("Wait(%q) = %v, want an error matching core.ErrRoomName", name, err)
		}
	}
	mustAppend(t, l, strings.Repeat("x", core.MaxRoom), Message(1))
}

// TestEmpty: a room nothing was appended to is an empty log of a non-zero
// epoch, from offset 1; appending keeps its epoch, so that a newcomer who
// looked before the first message does not take it for a reset.
func TestEmpty(t *testing.T, open Open) {
	l := newLog(t, open, core.RoomLogConfig{})
	b := mustBounds(t, l, "lobby")
	if b.Epoch == 0 || b.First != 1 || b.Next != 1 {
		t.Fatalf("Bounds of an empty room = %+v, want a non-zero epoch, First 1, Next 1", b)
	}
	got, rb := mustRead(t, l, "lobby", 0, 10, nil)
	if len(got) != 0 || rb != b {
		t.Fatalf("Read of an empty room = %v, %+v; want nothing, %+v", offsets(got), rb, b)
	}
	mustAppend(t, l, "lobby", Message(1))
	if after := mustBounds(t, l, "lobby"); after.Epoch != b.Epoch {
		t.Fatalf("epoch %d after the first append, %d before", after.Epoch, b.Epoch)
	}
}

// TestOffsets: offsets follow one another from 1, and Append returns the
// entry as stored.
func TestOffsets(t *testing.T, open Open) {
	l := newLog(t, open, core.RoomLogConfig{})
	epoch := mustBounds(t, l, "lobby").Epoch
	for i := 1; i <= 20; i++ {
		m := Message(i)
		e := mustAppend(t, l, "lobby", m)
		if e.Offset != uint64(i) {
			t.Fatalf("append %d got offset %d, want %d", i, e.Offset, i)
		}
		if !Same(&e.Message, m) {
			t.Fatalf("Append returned %+v, appended %+v", e.Message, *m)
		}
	}
	if b := mustBounds(t, l, "lobby"); b != (core.LogBounds{Epoch: epoch, First: 1, Next: 21}) {
		t.Fatalf("Bounds after 20 appends = %+v, want epoch %d, First 1, Next 21", b, epoch)
	}
}

// TestStartAppend: a log that pipelines appends (core.AppendStarter) gives
// appends started from one goroutine their offsets in the order started,
// each wait returning what Append would have, and Read finds them there; a
// log that does not is not asked.
func TestStartAppend(t *testing.T, open Open) {
	l := newLog(t, open, core.RoomLogConfig{})
	st, ok := l.(core.AppendStarter)
	if !ok {
		return // Append is the only way in: TestOffsets covers it
	}
	const n = 100
	mustAppend(t, l, "lobby", Message(0))
	waits := make([]func(context.Context) (core.LogEntry, error), n)
	for i := range waits {
		waits[i] = st.StartAppend(ctx(t), "lobby", Message(i+1))
	}
	for i, wait := range waits {
		e, err := wait(ctx(t))
		if err != nil {
			t.Fatalf("append %d started: %v", i+1, err)
		}
		if e.Offset != uint64(i+2) || !Same(&e.Message, Message(i+1)) {
			t.Fatalf("append %d started: offset %d, %q; want offset %d, %q", i+1, e.Offset, e.Message.Text, i+2, Message(i+1).Text)
		}
	}
	got, _ := mustRead(t, l, "lobby", 2, n, nil)
	for i, e := range got {
		if !Same(&e.Message, Message(i+1)) {
			t.Fatalf("Read at %d = %q, want %q", e.Offset, e.Message.Text, Message(i+1).Text)
		}
	}
	if len(got) != n {
		t.Fatalf("Read found %d of the %d appends started", len(got), n)
	}
	if _, err := st.StartAppend(ctx(t), "no/such room", Message(1))(ctx(t)); err == nil {
		t.Fatal("StartAppend to a room name CheckRoom refuses: no error")
	}
}

// TestRooms: each room has its own offsets, entries and bounds.
func TestRooms(t *testing.T, open Open) {
	l := newLog(t, open, core.RoomLogConfig{})
	for i := 1; i <= 5; i++ {
		for _, room := range []string{"a", "b"} {
			m := Message(i)
			m.Text = room + " " + m.Text
			if e := mustAppend(t, l, room, m); e.Offset != uint64(i) {
				t.Fatalf("room %s: append %d got offset %d", room, i, e.Offset)
			}
		}
	}
	mustAppend(t, l, "b", Message(6))
	for room, next := range map[string]uint64{"a": 6, "b": 7, "c": 1} {
		if b := mustBounds(t, l, room); b.First != 1 || b.Next != next {
			t.Errorf("room %s: Bounds %+v, want First 1, Next %d", room, b, next)
		}
	}
	got, _ := mustRead(t, l, "a", 0, 100, nil)
	for _, e := range got {
		if !strings.HasPrefix(e.Message.Text, "a ") {
			t.Errorf("room a holds %q", e.Message.Text)
		}
	}
}

// TestRead: where a read starts and ends, and that it appends to dst.
func TestRead(t *testing.T, open Open) {
	l := newLog(t, open, core.RoomLogConfig{})
	appendN(t, l, "lobby", 10)
	want := mustBounds(t, l, "lobby")
	tests := []struct {
		name      string
		from      uint64
		max       int
		wantFirst uint64
		wantN     int
	}{
		{"from 0", 0, 100, 1, 10},
		{"from First", 1, 100, 1, 10},
		{"from the middle", 4, 100, 4, 7},
		{"max respected", 4, 3, 4, 3},
		{"the last", 10, 5, 10, 1},
		{"from Next", 11, 5, 0, 0},
		{"beyond Next", 1000, 5, 0, 0},
		{"from the largest offset", math.MaxUint64, 5, 0, 0},
		{"max 0", 1, 0, 0, 0},
		{"max negative", 1, -1, 0, 0},
	}
	for _, tt := range tests {
		got, b := mustRead(t, l, "lobby", tt.from, tt.max, nil)
		if b != want {
			t.Errorf("%s: bounds %+v, want %+v", tt.name, b, want)
		}
		if len(got) != tt.wantN {
			t.Errorf("%s: read %v, want %d entries", tt.name, offsets(got), tt.wantN)
			continue
		}
		for i, e := range got {
			if e.Offset != tt.wantFirst+uint64(i) || !Same(&e.Message, Message(int(e.Offset))) {
				t.Errorf("%s: entry %d is %d %q, want offset %d", tt.name, i, e.Offset, e.Message.Text, tt.wantFirst+uint64(i))
			}
		}
	}

	// dst: appended to, its entries kept, its storage used when it has room.
	dst := make([]core.LogEntry, 1, 32)
	dst[0] = core.LogEntry{Offset: 99}
	got, _ := mustRead(t, l, "lobby", 1, 4, dst)
	if len(got) != 5 || got[0].Offset != 99 || got[1].Offset != 1 || got[4].Offset != 4 {
		t.Fatalf("Read into dst holding one entry gave %v, want [99 1 2 3 4]", offsets(got))
	}
	if &got[0] != &dst[0] {
		t.Errorf("Read did not append into dst's room")
	}
	again, _ := mustRead(t, l, "lobby", 5, 4, got[:0])
	if len(again) != 4 || again[0].Offset != 5 || &again[0] != &dst[0] {
		t.Errorf("Read into a reused dst gave %v, want [5 6 7 8] in dst's storage", offsets(again))
	}
}

// TestMessages: the log keeps what was appended, every field, and no
// caller's change reaches it afterwards.
func TestMessages(t *testing.T, open Open) {
	l := newLog(t, open, core.RoomLogConfig{})
	m := &core.Message{
		Kind: core.KindPrivate, ID: 42, From: "alice", To: "bob",
		Text: "héllo ✓", Time: time.UnixMilli(1_700_000_123_456), Origin: 9,
	}
	orig := *m
	e := mustAppend(t, l, "lobby", m)
	m.Text, m.From, m.ID = "changed", "mallory", 1
	got, _ := mustRead(t, l, "lobby", e.Offset, 1, nil)
	if len(got) != 1 || !Same(&got[0].Message, &orig) {
		t.Fatalf("read %+v, appended %+v (then changed it)", got, orig)
	}
	got[0].Message.Text = "changed by a reader"
	again, _ := mustRead(t, l, "lobby", e.Offset, 1, nil)
	if !Same(&again[0].Message, &orig) {
		t.Fatalf("read %+v after a reader changed its copy, appended %+v", again[0].Message, orig)
	}
	for _, k := range []core.MessageKind{core.KindChat, core.KindSystem, core.KindAction, core.KindHistory} {
		m := Message(int(k))
		m.Kind = k
		e := mustAppend(t, l, "kinds", m)
		got, _ := mustRead(t, l, "kinds", e.Offset, 1, nil)
		if len(got) != 1 || !Same(&got[0].Message, m) {
			t.Errorf("kind %v: read %+v, appended %+v", k, got, *m)
		}
	}
}

// TestRetention: a log kept to MaxEntries per room drops its oldest, which
// moves First; a read from before First starts at First, so that the
// reader sees the gap; other rooms keep their own.
func TestRetention(t *testing.T, open Open) {
	l := newLog(t, open, core.RoomLogConfig{MaxEntries: 4})
	appendN(t, l, "lobby", 10)
	appendN(t, l, "other", 2)
	b := mustBounds(t, l, "lobby")
	if b.First != 7 || b.Next != 11 {
		t.Fatalf("Bounds after 10 appends keeping 4 = %+v, want First 7, Next 11", b)
	}
	for _, from := range []uint64{0, 1, 6, 7} {
		got, rb := mustRead(t, l, "lobby", from, 100, nil)
		if fmt.Sprint(offsets(got)) != "[7 8 9 10]" || rb != b {
			t.Errorf("Read from %d gave %v with %+v, want [7 8 9 10] with %+v", from, offsets(got), rb, b)
		}
	}
	if got, _ := mustRead(t, l, "lobby", 9, 100, nil); fmt.Sprint(offsets(got)) != "[9 10]" {
		t.Errorf("Read from 9 gave %v, want [9 10]", offsets(got))
	}
	if err := l.Wait(ctx(t), "lobby", b.Epoch, 5); err != nil {
		t.Errorf("Wait after 5, with 6 dropped and 7 to 10 kept: %v", err)
	}
	if ob := mustBounds(t, l, "other"); ob.First != 1 || ob.Next != 3 {
		t.Errorf("room other: Bounds %+v, want First 1, Next 3", ob)
	}
}

// waitAsync starts one Wait and returns where its result will arrive.
func waitAsync(c context.Context, l core.RoomLog, room string, epoch, after uint64) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- l.Wait(c, room, epoch, after) }()
	return ch
}

// result waits for one Wait's result, failing the test after waitLimit.
func result(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	select {
	case err := <-ch:
		return err
	case <-timer.C:
		t.Fatalf("%s: Wait did not return in %v", what, waitLimit)
		return nil
	}
}

// TestWait: Wait returns once the room holds an offset past after, at once
// if it already does or the epoch is not the caller's, and with the
// context's error, or ErrRoomLogClosed, otherwise.
func TestWait(t *testing.T, open Open) {
	l := newLog(t, open, core.RoomLogConfig{})
	appendN(t, l, "lobby", 3)
	epoch := mustBounds(t, l, "lobby").Epoch

	t.Run("AlreadyPast", func(t *testing.T) {
		for _, after := range []uint64{0, 1, 2} {
			if err := l.Wait(ctx(t), "lobby", epoch, after); err != nil {
				t.Errorf("Wait after %d with 3 entries: %v", after, err)
			}
		}
	})
	t.Run("OtherEpoch", func(t *testing.T) {
		if err := l.Wait(ctx(t), "lobby", epoch^1, math.MaxUint64-1); err != nil {
			t.Errorf("Wait with epoch %d, the log's being %d: %v", epoch^1, epoch, err)
		}
	})
	t.Run("WakesOnAppend", func(t *testing.T) {
		next := mustBounds(t, l, "lobby").Next
		ch := waitAsync(ctx(t), l, "lobby", epoch, next-1)
		mustAppend(t, l, "lobby", Message(4))
		if err := result(t, ch, "append"); err != nil {
			t.Fatalf("Wait woken by an append: %v", err)
		}
	})
	t.Run("WakesEveryWaiter", func(t *testing.T) {
		next := mustBounds(t, l, "lobby").Next
		var chs []<-chan error
		for range 5 {
			chs = append(chs, waitAsync(ctx(t), l, "lobby", epoch, next-1))
		}
		mustAppend(t, l, "lobby", Message(5))
		for i, ch := range chs {
			if err := result(t, ch, fmt.Sprintf("waiter %d", i)); err != nil {
				t.Errorf("waiter %d: %v", i, err)
			}
		}
	})
	t.Run("EmptyRoom", func(t *testing.T) {
		b := mustBounds(t, l, "quiet")
		ch := waitAsync(ctx(t), l, "quiet", b.Epoch, 0)
		mustAppend(t, l, "quiet", Message(1))
		if err := result(t, ch, "first append"); err != nil {
			t.Fatalf("Wait on an empty room woken by its first append: %v", err)
		}
	})
	t.Run("Cancel", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx(t))
		ch := waitAsync(c, l, "lobby", epoch, math.MaxUint64-1)
		cancel()
		if err := result(t, ch, "cancel"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait after cancel = %v, want context.Canceled", err)
		}
	})
	t.Run("Deadline", func(t *testing.T) {
		c, cancel := context.WithTimeout(ctx(t), tick)
		defer cancel()
		last := mustBounds(t, l, "lobby").Next - 1
		if err := l.Wait(c, "lobby", epoch, last); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait after the last offset, with no append = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("OtherRoom", func(t *testing.T) {
		b := mustBounds(t, l, "silent")
		c, cancel := context.WithTimeout(ctx(t), tick)
		defer cancel()
		ch := waitAsync(c, l, "silent", b.Epoch, 0)
		mustAppend(t, l, "lobby", Message(6))
		if err := result(t, ch, "other room"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait on a room woken by an append to another = %v, want context.DeadlineExceeded", err)
		}
	})
}

// TestContext: an ended context stops Append, Read and Bounds with its
// error, and Append then appends nothing.
func TestContext(t *testing.T, open Open) {
	l := newLog(t, open, core.RoomLogConfig{})
	c, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Append(c, "lobby", Message(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled context = %v, want context.Canceled", err)
	}
	if _, _, err := l.Read(c, "lobby", 0, 1, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := l.Bounds(c, "lobby"); !errors.Is(err, context.Canceled) {
		t.Errorf("Bounds with a canceled context = %v, want context.Canceled", err)
	}
	if b := mustBounds(t, l, "lobby"); b.Next != 1 {
		t.Errorf("Bounds after a canceled Append = %+v, want Next 1", b)
	}
}

// TestConcurrent: appenders and readers at once (the race detector checks
// the locking). Every appender's offsets are distinct, every reader, which
// reads in batches and waits when it has read all, sees every offset once,
// in order, and each appender's messages in the order they were appended.
func TestConcurrent(t *testing.T, open Open) {
	const appenders, each, readers, batch = 4, 250, 3, 16
	const total = appenders * each
	l := newLog(t, open, core.RoomLogConfig{MaxEntries: total})
	epoch := mustBounds(t, l, "lobby").Epoch
	c := ctx(t)

	got := make([][]uint64, appenders)
	var wg sync.WaitGroup
	for a := range appenders {
		wg.Go(func() {
			for i := range each {
				m := Message(i)
				m.Text = fmt.Sprintf("appender %d message %d", a, i)
				e, err := l.Append(c, "lobby", m)
				if err != nil {
					t.Errorf("appender %d: %v", a, err)
					return
				}
				got[a] = append(got[a], e.Offset)
			}
		})
	}
	for r := range readers {
		wg.Go(func() { read(t, c, l, r, epoch, total, appenders, batch) })
	}
	wg.Wait()

	seen := make([]bool, total+1)
	for a, offs := range got {
		for _, o := range offs {
			if o < 1 || o > total || seen[o] {
				t.Fatalf("appender %d got offset %d, out of 1..%d or given twice", a, o, total)
			}
			seen[o] = true
		}
	}
}

// read is one reader of TestConcurrent: in batches from offset 1 until it
// has read total entries.
func read(t *testing.T, c context.Context, l core.RoomLog, r int, epoch uint64, total, appenders, batch int) {
	next := uint64(1)
	last := make([]int, appenders) // each appender's next message number
	buf := make([]core.LogEntry, 0, batch)
	for next <= uint64(total) {
		es, b, err := l.Read(c, "lobby", next, batch, buf[:0])
		if err != nil {
			t.Errorf("reader %d: Read from %d: %v", r, next, err)
			return
		}
		if b.Epoch != epoch {
			t.Errorf("reader %d: epoch %d, was %d", r, b.Epoch, epoch)
			return
		}
		for _, e := range es {
			if e.Offset != next {
				t.Errorf("reader %d: offset %d, want %d", r, e.Offset, next)
				return
			}
			var a, i int
			if _, err := fmt.Sscanf(e.Message.Text, "appender %d message %d", &a, &i); err != nil || a < 0 || a >= appenders {
				t.Errorf("reader %d: offset %d holds %q", r, e.Offset, e.Message.Text)
				return
			}
			if i != last[a] {
				t.Errorf("reader %d: appender %d's message %d at offset %d, want its message %d", r, a, i, e.Offset, last[a])
				return
			}
			last[a]++
			next++
		}
		if len(es) == 0 {
			if err := l.Wait(c, "lobby", epoch, next-1); err != nil {
				t.Errorf("reader %d: Wait after %d: %v", r, next-1, err)
				return
			}
		}
	}
}

// TestClose: Close wakes every Wait with ErrRoomLogClosed, every method
// after it returns ErrRoomLogClosed, and closing again does nothing.
func TestClose(t *testing.T, open Open) {
	l := open(t, core.RoomLogConfig{})
	mustAppend(t, l, "lobby", Message(1))
	epoch := mustBounds(t, l, "lobby").Epoch
	chs := []<-chan error{
		waitAsync(ctx(t), l, "lobby", epoch, 1),
		waitAsync(ctx(t), l, "lobby", epoch, 1),
		waitAsync(ctx(t), l, "empty", mustBounds(t, l, "empty").Epoch, 0),
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i, ch := range chs {
		if err := result(t, ch, "close"); !errors.Is(err, core.ErrRoomLogClosed) {
			t.Errorf("waiter %d after Close: %v, want core.ErrRoomLogClosed", i, err)
		}
	}
	if _, err := l.Append(ctx(t), "lobby", Message(2)); !errors.Is(err, core.ErrRoomLogClosed) {
		t.Errorf("Append after Close = %v, want core.ErrRoomLogClosed", err)
	}
	if _, _, err := l.Read(ctx(t), "lobby", 0, 1, nil); !errors.Is(err, core.ErrRoomLogClosed) {
		t.Errorf("Read after Close = %v, want core.ErrRoomLogClosed", err)
	}
	if _, err := l.Bounds(ctx(t), "lobby"); !errors.Is(err, core.ErrRoomLogClosed) {
		t.Errorf("Bounds after Close = %v, want core.ErrRoomLogClosed", err)
	}
	if err := l.Wait(ctx(t), "lobby", epoch, 0); !errors.Is(err, core.ErrRoomLogClosed) {
		t.Errorf("Wait after Close = %v, want core.ErrRoomLogClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
