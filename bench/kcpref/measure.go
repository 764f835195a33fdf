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
	// count fills in the row's counters (Tx, Repairs) when the last
	// message is delivered, into counted.
	count   func(*Result)
	counted Result
	errAt   atomic.Pointer[error]
	finish  sync.Once
}

func newRecorder(n int, count func(*Result)) *recorder {
	return &recorder{n: n, handed: make([]time.Time, n), delivered: make([]time.Time, n),
		done: make(chan struct{}), count: count}
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
		r.count(&r.counted)
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
	// Repairs are how the sender(s) repaired losses, where the row can
	// tell: nil for the relay through udpchat's server.
	Repairs *Repairs
}

// Repairs count retransmissions of messages (KCP: of segments) and the
// copies that reached the receiver again, over every hop of the run.
type Repairs struct {
	Resent  uint64 // retransmissions
	Fast    uint64 // of them, before the timeout: on later ACKs (KCP: fast and early retransmits)
	Timeout uint64 // of them, on the retransmission timeout
	Dups    uint64 // DATA (KCP: segments) the receiver had already
}

func (r *Repairs) String() string {
	if r == nil {
		return "repairs not counted"
	}
	return fmt.Sprintf("resent %d (%d fast, %d on timeout), %d duplicates at the receiver", r.Resent, r.Fast, r.Timeout, r.Dups)
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
	res := r.counted
	res.Messages = r.n
	res.Elapsed = r.delivered[r.n-1].Sub(r.handed[0])
	res.P50, res.P99 = percentile(lat, 50), percentile(lat, 99)
	return res
}

// percentile is the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n)
	return sorted[max(rank, 1)-1]
}
