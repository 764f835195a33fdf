package testkit

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTB records what a wait reports instead of failing the test; Fatalf
// ends the goroutine, as testing's does.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run runs wait on a fakeTB in a goroutine of its own, so that Fatalf can
// end it, and returns what it reported ("" if nothing).
func run(wait func(testing.TB)) string {
	tb := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait(tb)
	}()
	<-done
	return tb.fatal
}

func TestWaitUntilMetLate(t *testing.T) {
	var polls atomic.Int32
	got := run(func(tb testing.TB) {
		WaitUntil(tb, "the tenth poll", func() bool { return polls.Add(1) >= 10 })
	})
	if got != "" {
		t.Fatalf("reported %q, want nothing", got)
	}
	if n := polls.Load(); n != 10 {
		t.Fatalf("cond asked %d times, want 10 (no more once it held)", n)
	}
}

func TestWaitUntilMetAtOnce(t *testing.T) {
	var polls atomic.Int32
	WaitUntil(t, "true", func() bool { polls.Add(1); return true })
	if n := polls.Load(); n != 1 {
		t.Fatalf("cond asked %d times, want 1", n)
	}
}

func TestWaitUntilWithinNeverMet(t *testing.T) {
	start := time.Now()
	got := run(func(tb testing.TB) {
		WaitUntilWithin(tb, "the impossible", 50*time.Millisecond, func() bool { return false })
	})
	if want := "timed out after 50ms waiting for the impossible"; got != want {
		t.Fatalf("reported %q, want %q", got, want)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("gave up after %v, before the 50ms deadline", d)
	}
}

func TestWaitEnded(t *testing.T) {
	ended := make(chan struct{})
	close(ended)
	got := run(func(tb testing.TB) {
		Wait{Ended: ended}.Until(tb, "a line", func() bool { return false })
	})
	if want := "ended while waiting for a line"; got != want {
		t.Fatalf("reported %q, want %q", got, want)
	}
}

// TestWaitEndedMet: what held by the time the process ended is not a
// failure.
func TestWaitEndedMet(t *testing.T) {
	ended := make(chan struct{})
	var polls atomic.Int32
	got := run(func(tb testing.TB) {
		Wait{Ended: ended}.Until(tb, "the last line", func() bool {
			if polls.Add(1) == 3 {
				close(ended)
			}
			return polls.Load() > 3
		})
	})
	if got != "" {
		t.Fatalf("reported %q, want nothing", got)
	}
}

func TestWaitGot(t *testing.T) {
	got := run(func(tb testing.TB) {
		Wait{Within: 10 * time.Millisecond, Got: func() string { return "the screen" }}.Until(tb, "a line", func() bool { return false })
	})
	if want := "timed out after 10ms waiting for a line; got:\nthe screen"; got != want {
		t.Fatalf("reported %q, want %q", got, want)
	}
}
