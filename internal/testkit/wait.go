// Package testkit holds the test helpers every package's tests share:
// waiting until a condition holds, with a deadline, and a buffer that one
// goroutine may write while the test reads it.
package testkit

import (
	"testing"
	"time"
)

// Timeout bounds every wait that does not set its own: long enough for a
// loaded CI machine running the tests with -race, where a wait that
// succeeds at all succeeds in well under a second. Only a failing test ever
// waits this long.
const Timeout = 30 * time.Second

// The first poll comes after firstPoll, each next one after twice as long,
// up to maxPoll: quick when the condition is about to hold, cheap when it is
// not.
const (
	firstPoll = time.Millisecond
	maxPoll   = 10 * time.Millisecond
)

// WaitUntil polls cond until it holds, failing t with
// "timed out after 30s waiting for <what>" after Timeout.
func WaitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Wait{}.Until(t, what, cond)
}

// WaitUntilWithin is WaitUntil with a deadline of the caller's.
func WaitUntilWithin(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	Wait{Within: within}.Until(t, what, cond)
}

// Wait is a wait with settings of its own; the zero Wait is WaitUntil's.
type Wait struct {
	// Within is how long to wait; Timeout if zero.
	Within time.Duration
	// Ended, once closed, ends the wait: cond is asked once more, and the
	// test fails if it still does not hold. For a process whose end means
	// the condition never will.
	Ended <-chan struct{}
	// Got, if not nil, says what there was instead when the wait fails,
	// for the end of the message: a screen, a log, what was received.
	Got func() string
}

// Until polls cond until it holds, failing t if Within passes or Ended is
// closed first.
func (w Wait) Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	within := w.Within
	if within == 0 {
		within = Timeout
	}
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	poll := firstPoll
	for !cond() {
		tick := time.NewTimer(poll)
		select {
		case <-tick.C:
		case <-w.Ended:
			tick.Stop()
			if cond() {
				return
			}
			t.Fatalf("ended while waiting for %s%s", what, w.got())
			return
		case <-deadline.C:
			tick.Stop()
			if cond() {
				return
			}
			t.Fatalf("timed out after %v waiting for %s%s", within, what, w.got())
			return
		}
		poll = min(2*poll, maxPoll)
	}
}

// got is the end of a failure's message.
func (w Wait) got() string {
	if w.Got == nil {
		return ""
	}
	return "; got:\n" + w.Got()
}
