package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MessageSize is the issue's: 64-byte messages.
const MessageSize = 64

// numberWidth is the digits of a message's number at the front of its
// text; the rest is padding. Printable, so that the relay's server takes
// it as a chat line.
const numberWidth = 10

// message is message i's 64 bytes: its number, a space, dots.
func message(i int) []byte {
	b := make([]byte, 0, MessageSize)
	b = fmt.Appendf(b, "%0*d ", numberWidth, i)
	for len(b) < MessageSize {
		b = append(b, '.')
	}
	return b
}

// messageNumber reads back the number message wrote.
func messageNumber(b []byte) (int, error) {
	if len(b) != MessageSize || b[numberWidth] != ' ' || strings.Trim(string(b[numberWidth+1:]), ".") != "" {
		return 0, fmt.Errorf("not a bench message: %q", b)
	}
	return strconv.Atoi(string(b[:numberWidth]))
}

// recorder is what one row's run saw. The sender writes handed, the
// receiver delivered and next; they are read only once both are done.
type recorder struct {
	n         int
	handed    []time.Time // by message number: when the layer took it
	delivered []time.Time // by message number: when the receiver handed it on
	next      int         // the number the receiver must deliver next
	done      chan struct{}
	// tx counts the datagrams the sending side(s) put on the link when
	// the last message was delivered; set by the row through txAt.
	tx     uint64
	txAt   func() uint64
	errAt  atomic.Pointer[error]
	finish sync.Once
}

func newRecorder(n int, txAt func() uint64) *recorder {
	return &recorder{n: n, handed: make([]time.Time, n), delivered: make([]time.Time, n),
		done: make(chan struct{}), txAt: txAt}
}

// hand records that the layer took message i.
func (r *recorder) hand(i int) { r.handed[i] = time.Now() }

// deliver records that the receiver handed message i on, which must be
// the next in order: a duplicate, a gap or a reordering fails the run.
// After the last, it closes done.
func (r *recorder) deliver(i int) error {
	now := time.Now()
	if i != r.next {
		err := fmt.Errorf("delivered message %d after %d of %d: want exactly once, in order", i, r.next, r.n)
		r.fail(err)
		return err
	}
	r.delivered[i] = now
	r.next++
	if r.next == r.n {
		r.tx = r.txAt()
		r.end()
	}
	return nil
}

// fail records the first error of a run and ends it. An error after the
// run has ended (a session closed under its reader) is not kept.
func (r *recorder) fail(err error) {
	select {
	case <-r.done:
		return
	default:
	}
	r.errAt.CompareAndSwap(nil, &err)
	r.end()
}

func (r *recorder) end() { r.finish.Do(func() { close(r.done) }) }

// wait waits for the last delivery, a failure or the timeout.
func (r *recorder) wait(timeout time.Duration) error {
	select {
	case <-r.done:
	case <-time.After(timeout):
		r.fail(fmt.Errorf("timed out after %v", timeout))
	}
	if p := r.errAt.Load(); p != nil {
		return *p
	}
	return nil
}

// Result is one row's figures at one loss.
type Result struct {
	Messages int
	Elapsed  time.Duration // from the first message taken to the last delivered
	Tx       uint64        // datagrams the sending side(s) put on the link
	P50, P99 time.Duration // from taken to delivered
}

// Rate is messages delivered, in order, a second.
func (r Result) Rate() float64 { return float64(r.Messages) / r.Elapsed.Seconds() }

// TxPerMessage is datagrams sent a message.
func (r Result) TxPerMessage() float64 { return float64(r.Tx) / float64(r.Messages) }

// result is the run's figures; call it after wait returned nil, once the
// sender has stopped.
func (r *recorder) result() Result {
	lat := make([]time.Duration, r.n)
	for i := range r.n {
		lat[i] = r.delivered[i].Sub(r.handed[i])
	}
	slices.Sort(lat)
	return Result{
		Messages: r.n,
		Elapsed:  r.delivered[r.n-1].Sub(r.handed[0]),
		Tx:       r.tx,
		P50:      percentile(lat, 50),
		P99:      percentile(lat, 99),
	}
}

// percentile is the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n)
	return sorted[max(rank, 1)-1]
}
