package fault

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/udpchat/udpchat/core"
)

// ReorderHold is how long a held-back datagram waits, beyond its own delay,
// for a next datagram to overtake it. It is short so that a lone message is
// not held for long, yet long enough that a burst reliably overtakes.
const ReorderHold = 5 * time.Millisecond

// QueueLen bounds the datagrams that the receive side has delivered and
// ReadFrom not yet taken, like a socket buffer; beyond it they are dropped and
// counted in Stats.Receive.Dropped.
const QueueLen = 1024

// maxPending bounds the datagrams waiting on a timer in one direction, so that
// a large Delay under a flood cannot grow memory without limit. Overflow is
// dropped and counted.
const maxPending = 16384

// maxDatagram is the largest datagram the receive side can take from the
// inner transport.
const maxDatagram = 65535

// Faults are what happens to the datagrams in one direction. The zero value
// passes them through untouched.
type Faults struct {
	// Loss is the probability that a datagram is dropped.
	Loss float64
	// Duplicate is the probability that a datagram is delivered twice.
	Duplicate float64
	// Reorder is the probability that a datagram is held back until the next
	// one has gone by.
	Reorder float64
	// Delay is added to every datagram's delivery time.
	Delay time.Duration
	// Jitter adds a uniform random [0, Jitter) on top of Delay.
	Jitter time.Duration
}

func (f Faults) validate(dir string) []error {
	var errs []error
	for _, p := range []struct {
		name string
		v    float64
	}{{"Loss", f.Loss}, {"Duplicate", f.Duplicate}, {"Reorder", f.Reorder}} {
		if !(p.v >= 0 && p.v <= 1) { // also rejects NaN
			errs = append(errs, fmt.Errorf("transport/fault: %s.%s is %v, want a probability in [0, 1]", dir, p.name, p.v))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Delay", f.Delay}, {"Jitter", f.Jitter}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("transport/fault: %s.%s is %v, want a duration >= 0", dir, d.name, d.v))
		}
	}
	return errs
}

// Config chooses the faults for each direction and the seed they are drawn
// with.
type Config struct {
	// Seed seeds the random generators; zero is a seed like any other. The
	// same Seed and the same sequence of datagrams give the same faults.
	Seed uint64
	// Send applies to datagrams passed to WriteTo.
	Send Faults
	// Receive applies to datagrams read from the wrapped transport.
	Receive Faults
}

// Validate reports every field out of range: probabilities must lie in
// [0, 1] and durations must not be negative.
func (c Config) Validate() error {
	return errors.Join(append(c.Send.validate("Send"), c.Receive.validate("Receive")...)...)
}

// Counts are what was done to the datagrams in one direction.
type Counts struct {
	// Sent counts datagrams passed on: written to the wrapped transport on
	// the send side, handed to ReadFrom on the receive side. Duplicates are
	// counted; datagrams discarded by Close are not.
	Sent uint64
	// Dropped counts datagrams lost on purpose (Loss), and those that did not
	// fit in a bounded queue.
	Dropped uint64
	// Duplicated counts the extra copies made.
	Duplicated uint64
	// Reordered counts datagrams held back for another to overtake.
	Reordered uint64
	// Delayed counts copies given a non-zero Delay plus Jitter.
	Delayed uint64
}

// Stats are the counts for both directions.
type Stats struct {
	Send    Counts
	Receive Counts
}

// Transport is a core.Transport that injects faults into another. It is safe
// for concurrent use.
type Transport struct {
	inner  core.Transport
	send   *direction
	recv   *direction
	pumped bool // receive faults are on, so reads go through the pump

	mu      sync.Mutex
	closed  bool
	pumping bool
	pumpWG  sync.WaitGroup

	done     chan struct{} // closed by Close
	inbox    chan inbound  // the pump's deliveries, for ReadFrom
	pumpDone chan struct{} // closed when the pump has stopped
	pumpErr  error         // why it stopped; written before pumpDone closes
}

var _ core.Transport = (*Transport)(nil)

type inbound struct {
	data []byte
	from netip.AddrPort
	err  error
}

// Wrap returns inner with cfg's faults injected. The returned Transport owns
// inner: closing it closes inner. Wrap panics if cfg.Validate fails, since a
// fault configuration is written by the test or the operator and checked at
// startup; call Validate first on configuration read from a file.
func Wrap(inner core.Transport, cfg Config) *Transport {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	t := &Transport{
		inner:    inner,
		pumped:   cfg.Receive != (Faults{}),
		done:     make(chan struct{}),
		pumpDone: make(chan struct{}),
	}
	// Distinct streams keep the two directions independent: how many reads
	// happen between two writes does not change the faults either one meets.
	t.send = newDirection(cfg.Send, cfg.Seed, 1, func(p []byte, addr netip.AddrPort, _ bool) (int, error) {
		return t.inner.WriteTo(p, addr)
	})
	t.recv = newDirection(cfg.Receive, cfg.Seed, 2, t.enqueue)
	if t.pumped {
		t.inbox = make(chan inbound, QueueLen)
	}
	return t
}

// WriteTo sends p to addr through the Send faults. When the datagram goes out
// at once the wrapped transport's result is returned; when it is lost, delayed
// or held back, WriteTo reports len(p), nil. After Close the error matches
// net.ErrClosed.
func (t *Transport) WriteTo(p []byte, addr netip.AddrPort) (int, error) {
	n, err := t.send.offer(p, addr)
	if err == errStopped {
		return 0, fmt.Errorf("transport/fault: write to %s: %w", addr, net.ErrClosed)
	}
	return n, err
}

// ReadFrom returns the next datagram that survived the Receive faults. A
// datagram longer than p is truncated to len(p). Errors of the wrapped
// transport are returned as they are; after Close the error matches
// net.ErrClosed.
func (t *Transport) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	if !t.pumped {
		n, from, err := t.inner.ReadFrom(p)
		if err == nil {
			t.recv.stats.sent.Add(1)
		}
		return n, from, err
	}
	t.startPump()
	// Checked first because select picks at random among ready cases, and a
	// closed transport must not keep handing out its backlog.
	select {
	case <-t.done:
		return 0, netip.AddrPort{}, t.closedErr("read")
	default:
	}
	select {
	case in := <-t.inbox:
		return in.copyTo(p)
	case <-t.done:
		return 0, netip.AddrPort{}, t.closedErr("read")
	case <-t.pumpDone:
		// The wrapped transport was closed under us; hand out what got
		// through before it did.
		select {
		case in := <-t.inbox:
			return in.copyTo(p)
		default:
			return 0, netip.AddrPort{}, t.pumpErr
		}
	}
}

func (in inbound) copyTo(p []byte) (int, netip.AddrPort, error) {
	if in.err != nil {
		return 0, netip.AddrPort{}, in.err
	}
	return copy(p, in.data), in.from, nil
}

// LocalAddr returns the wrapped transport's address.
func (t *Transport) LocalAddr() netip.AddrPort { return t.inner.LocalAddr() }

// Stats returns what has been done so far.
func (t *Transport) Stats() Stats {
	return Stats{Send: t.send.stats.load(), Receive: t.recv.stats.load()}
}

// Close stops all pending deliveries, closes the wrapped transport and waits
// for the receive goroutine to exit, so nothing of the Transport runs after
// Close returns. Closing twice returns an error matching net.ErrClosed.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return t.closedErr("close")
	}
	t.closed = true
	close(t.done)
	t.mu.Unlock()

	// The send side stops first, while inner is still open, so an in-flight
	// delayed write finishes against an open transport.
	t.send.stop()
	err := t.inner.Close() // unblocks the pump's ReadFrom
	t.pumpWG.Wait()
	t.recv.stop()
	return err
}

func (t *Transport) closedErr(op string) error {
	return fmt.Errorf("transport/fault: %s %s: %w", op, t.inner.LocalAddr(), net.ErrClosed)
}

// startPump starts the receive goroutine on the first ReadFrom rather than in
// Wrap, so that a transport that is only written to never runs one.
func (t *Transport) startPump() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.pumping {
		return
	}
	t.pumping = true
	t.pumpWG.Add(1)
	go t.pump()
}

// pump reads the wrapped transport and feeds each datagram through the
// Receive faults into the inbox.
func (t *Transport) pump() {
	defer t.pumpWG.Done()
	defer close(t.pumpDone)
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := t.inner.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				t.pumpErr = err
				return
			}
			// Other errors belong to the reader, as without the wrapper. The
			// send blocks, so a persistent error cannot spin.
			select {
			case t.inbox <- inbound{err: err}:
				continue
			case <-t.done:
				t.pumpErr = t.closedErr("read")
				return
			}
		}
		if _, err := t.recv.offer(buf[:n], from); err == errStopped {
			t.pumpErr = t.closedErr("read")
			return
		}
	}
}

// errOverflow reports a datagram that the inbox had no room for.
var errOverflow = errors.New("transport/fault: receive queue full")

// enqueue is the receive direction's delivery: it hands a datagram to
// ReadFrom, dropping it when the inbox is full as a socket buffer would.
func (t *Transport) enqueue(p []byte, from netip.AddrPort, owned bool) (int, error) {
	if !owned {
		p = append([]byte(nil), p...)
	}
	select {
	case t.inbox <- inbound{data: p, from: from}:
		return len(p), nil
	default:
		return 0, errOverflow
	}
}
