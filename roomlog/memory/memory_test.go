package memory

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/roomlog/roomlogtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// open opens a log the way configuration does: through the registry.
func open(t *testing.T, cfg core.RoomLogConfig) core.RoomLog {
	t.Helper()
	d, err := core.RoomLogs.Lookup("memory")
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	return l
}

func TestConformance(t *testing.T) { roomlogtest.TestRoomLog(t, open) }

// newLog is New with o, closed when the test ends.
func newLog(t *testing.T, o Options) *Log {
	t.Helper()
	l, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func bounds(t *testing.T, l *Log, room string) core.LogBounds {
	t.Helper()
	b, err := l.Bounds(t.Context(), room)
	if err != nil {
		t.Fatalf("Bounds(%q): %v", room, err)
	}
	return b
}

func appendN(t *testing.T, l *Log, room string, n int) {
	t.Helper()
	for i := range n {
		if _, err := l.Append(t.Context(), room, roomlogtest.Message(i)); err != nil {
			t.Fatalf("Append(%q): %v", room, err)
		}
	}
}

// TestEpoch: each log draws its own epoch, never 0, and every room reports
// it: an in-memory log is lost whole.
func TestEpoch(t *testing.T) {
	a, b := newLog(t, Options{}), newLog(t, Options{})
	if a.Epoch() == 0 || b.Epoch() == 0 || a.Epoch() == b.Epoch() {
		t.Fatalf("epochs %d and %d: want two different, non-zero", a.Epoch(), b.Epoch())
	}
	appendN(t, a, "lobby", 1)
	for _, room := range []string{"lobby", "never-used"} {
		if e := bounds(t, a, room).Epoch; e != a.Epoch() {
			t.Errorf("room %s: epoch %d, the log's is %d", room, e, a.Epoch())
		}
	}
}

// TestDefaults: a zero Options is bounded; a negative bound is refused.
func TestDefaults(t *testing.T) {
	l := newLog(t, Options{})
	if l.maxEntries != DefaultMaxEntries || l.maxRooms != DefaultMaxRooms || l.maxAge != 0 {
		t.Errorf("zero Options gave max entries %d, max rooms %d, max age %v", l.maxEntries, l.maxRooms, l.maxAge)
	}
	for _, o := range []Options{{MaxEntries: -1}, {MaxRooms: -1}, {MaxAge: -time.Second}} {
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("New(%+v) = %v, want a refusal of the negative bound", o, err)
		}
	}
	if _, err := l.Append(t.Context(), "lobby", nil); err == nil {
		t.Errorf("Append of a nil message succeeded")
	}
}

// TestRetentionByCount: past MaxEntries each append drops the oldest,
// moving First, and the ring never holds more than MaxEntries; it starts
// small, so that a quiet room costs little.
func TestRetentionByCount(t *testing.T) {
	l := newLog(t, Options{MaxEntries: 40})
	appendN(t, l, "lobby", 1)
	if n := len(l.rooms["lobby"].ring); n != initialRing {
		t.Errorf("ring of %d after one append, want %d", n, initialRing)
	}
	appendN(t, l, "lobby", 99)
	if b := bounds(t, l, "lobby"); b.First != 61 || b.Next != 101 {
		t.Fatalf("Bounds after 100 appends keeping 40 = %+v, want First 61, Next 101", b)
	}
	if n := len(l.rooms["lobby"].ring); n != 40 {
		t.Errorf("ring of %d, want 40", n)
	}
	got, _, err := l.Read(t.Context(), "lobby", 0, 100, nil)
	if err != nil || len(got) != 40 || got[0].Offset != 61 || got[39].Offset != 100 {
		t.Fatalf("Read from 0 gave %d entries (%v), want 61..100", len(got), err)
	}
}

// TestRetentionByAge: entries appended longer ago than MaxAge go, on the
// next access; offsets go on from where they were, even from an empty log.
func TestRetentionByAge(t *testing.T) {
	now := time.Unix(1_700_000_000, 0) // the log's clock, moved by the test
	l := newLog(t, Options{MaxAge: time.Minute, Now: func() time.Time { return now }})
	appendN(t, l, "lobby", 3)
	now = now.Add(30 * time.Second)
	appendN(t, l, "lobby", 2)
	now = now.Add(31 * time.Second)
	if b := bounds(t, l, "lobby"); b.First != 4 || b.Next != 6 {
		t.Fatalf("Bounds 61 s after 3 appends and 31 s after 2 = %+v, want First 4, Next 6", b)
	}
	now = now.Add(time.Hour)
	got, b, err := l.Read(t.Context(), "lobby", 0, 10, nil)
	if err != nil || len(got) != 0 || b.First != 6 || b.Next != 6 {
		t.Fatalf("Read an hour later = %d entries, %+v, %v; want none, First = Next = 6", len(got), b, err)
	}
	for _, s := range l.rooms["lobby"].ring {
		if s != (slot{}) {
			t.Fatalf("an expired slot still holds %+v", s)
		}
	}
	e, err := l.Append(t.Context(), "lobby", roomlogtest.Message(6))
	if err != nil || e.Offset != 6 {
		t.Fatalf("Append after expiry = offset %d, %v; want 6", e.Offset, err)
	}
}

// TestMaxRooms: a room past MaxRooms is refused by Append and Wait with
// ErrTooManyRooms; reading a room that does not exist creates nothing; the
// rooms there are go on.
func TestMaxRooms(t *testing.T) {
	l := newLog(t, Options{MaxRooms: 2})
	appendN(t, l, "a", 1)
	appendN(t, l, "b", 1)
	_, err := l.Append(t.Context(), "c", roomlogtest.Message(1))
	if !errors.Is(err, core.ErrTooManyRooms) || !strings.Contains(err.Error(), `"c"`) {
		t.Fatalf("Append to a third room of 2 = %v, want core.ErrTooManyRooms naming the room", err)
	}
	if err := l.Wait(t.Context(), "c", l.Epoch(), 0); !errors.Is(err, core.ErrTooManyRooms) {
		t.Fatalf("Wait on a third room of 2 = %v, want core.ErrTooManyRooms", err)
	}
	if b := bounds(t, l, "c"); b.First != 1 || b.Next != 1 {
		t.Errorf("Bounds of a refused room = %+v, want an empty log", b)
	}
	if len(l.rooms) != 2 {
		t.Errorf("%d rooms, want 2", len(l.rooms))
	}
	appendN(t, l, "a", 1)
}

// waiting reports whether a Wait is blocked on room.
func waiting(l *Log, room string) bool {
	l.mu.RLock()
	r := l.rooms[room]
	l.mu.RUnlock()
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed != nil
}

// TestWaitBlocked: a Wait that is known to be blocked is woken by the
// append, by Close, and by its context, and by nothing else; the suite's
// version cannot tell a Wait that blocked from one that came late.
func TestWaitBlocked(t *testing.T) {
	l := newLog(t, Options{})
	appendN(t, l, "lobby", 2)
	wait := func(c context.Context, after uint64) <-chan error {
		ch := make(chan error, 1)
		go func() { ch <- l.Wait(c, "lobby", l.Epoch(), after) }()
		testkit.WaitUntil(t, "the Wait to block", func() bool { return waiting(l, "lobby") })
		return ch
	}

	ch := wait(t.Context(), 2)
	appendN(t, l, "other", 1)
	select {
	case err := <-ch:
		t.Fatalf("Wait returned %v after an append to another room", err)
	default:
	}
	appendN(t, l, "lobby", 1)
	if err := result(t, ch); err != nil {
		t.Fatalf("Wait woken by an append: %v", err)
	}
	if waiting(l, "lobby") {
		t.Errorf("the broadcast channel is still there after the append that closed it")
	}

	c, cancel := context.WithCancel(t.Context())
	ch = wait(c, 3)
	cancel()
	if err := result(t, ch); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel = %v", err)
	}

	ch = wait(t.Context(), 3)
	l.Close()
	if err := result(t, ch); !errors.Is(err, core.ErrRoomLogClosed) {
		t.Fatalf("Wait after Close = %v", err)
	}
}

// result is what a Wait returned, failing the test if it does not return.
func result(t *testing.T, ch <-chan error) error {
	t.Helper()
	timer := time.NewTimer(testkit.Timeout)
	defer timer.Stop()
	select {
	case err := <-ch:
		return err
	case <-timer.C:
		t.Fatalf("Wait did not return in %v", testkit.Timeout)
		return nil
	}
}

func BenchmarkAppend(b *testing.B) {
	l, _ := New(Options{})
	defer l.Close()
	roomlogtest.BenchmarkAppend(b, l)
}

func BenchmarkRead16(b *testing.B) {
	l, _ := New(Options{})
	defer l.Close()
	roomlogtest.BenchmarkRead(b, l, 16)
}

func BenchmarkRead64(b *testing.B) {
	l, _ := New(Options{})
	defer l.Close()
	roomlogtest.BenchmarkRead(b, l, 64)
}
