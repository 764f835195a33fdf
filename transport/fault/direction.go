package fault

import (
	"container/heap"
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// errStopped is returned by offer after stop; the Transport turns it into an
// error matching net.ErrClosed.
var errStopped = errors.New("transport/fault: stopped")

// deliverFunc passes a datagram on. owned reports that p is a private copy the
// callee may keep.
type deliverFunc func(p []byte, addr netip.AddrPort, owned bool) (int, error)

// direction applies one direction's Faults. Datagrams that go out at once are
// delivered by the caller of offer; the others wait in a heap ordered by due
// time, served by a single timer whose callback delivers whatever is due.
type direction struct {
	faults  Faults
	deliver deliverFunc
	stats   counters

	// deliverMu is held while deciding about and delivering datagrams, so
	// that deliveries never interleave: datagrams due in order are delivered
	// in order, and a released datagram follows the one that overtook it.
	// It is taken before mu.
	deliverMu sync.Mutex

	mu      sync.Mutex
	rng     *rand.Rand
	pending pendingHeap
	held    []*item // the datagram held back for reordering, one per copy
	seq     uint64  // breaks ties between equal due times: first in, first out
	timer   *time.Timer
	armed   time.Time // when the timer fires; zero when it is not armed
	stopped bool
}

func newDirection(f Faults, seed, stream uint64, deliver deliverFunc) *direction {
	return &direction{
		faults:  f,
		deliver: deliver,
		rng:     rand.New(rand.NewPCG(seed, stream)),
	}
}

// offer passes p to addr through the faults. It returns the delivery's result
// when p went out at once, and len(p), nil when p was dropped or deferred.
func (d *direction) offer(p []byte, addr netip.AddrPort) (int, error) {
	d.deliverMu.Lock()
	defer d.deliverMu.Unlock()
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return 0, errStopped
	}
	f := d.faults
	if f.Loss > 0 && d.rng.Float64() < f.Loss {
		d.mu.Unlock()
		d.stats.dropped.Add(1)
		return len(p), nil
	}
	copies := 1
	if f.Duplicate > 0 && d.rng.Float64() < f.Duplicate {
		copies = 2
		d.stats.duplicated.Add(1)
	}
	reorder := f.Reorder > 0 && d.rng.Float64() < f.Reorder
	var delays [2]time.Duration
	immediate := true
	for i := range copies {
		delays[i] = f.Delay
		if f.Jitter > 0 {
			delays[i] += time.Duration(d.rng.Int64N(int64(f.Jitter)))
		}
		if delays[i] > 0 {
			immediate = false
		}
	}

	now := time.Now()
	released := d.takeHeld()
	if reorder && released == nil {
		data := append([]byte(nil), p...)
		for i := range copies {
			it := &item{due: now.Add(delays[i] + ReorderHold), data: data, addr: addr, held: true}
			if !d.push(it) {
				continue
			}
			d.held = append(d.held, it)
			if delays[i] > 0 {
				d.stats.delayed.Add(1)
			}
		}
		if len(d.held) > 0 {
			d.stats.reordered.Add(1)
		}
		d.arm()
		d.mu.Unlock()
		return len(p), nil
	}

	if immediate {
		d.mu.Unlock()
		n, err := d.emit(p, addr, false)
		if copies == 2 {
			d.emit(p, addr, false)
		}
		for _, it := range released {
			d.emit(it.data, it.addr, true)
		}
		return n, err
	}

	data := append([]byte(nil), p...)
	last := now
	for i := range copies {
		it := &item{due: now.Add(delays[i]), data: data, addr: addr}
		if d.push(it) {
			d.stats.delayed.Add(1)
			if it.due.After(last) {
				last = it.due
			}
		}
	}
	for _, it := range released {
		it.due = last
		d.push(it)
	}
	d.arm()
	d.mu.Unlock()
	return len(p), nil
}

// emit delivers one datagram and counts the outcome. Sent is counted before
// the delivery, so that whoever receives the datagram already sees it in
// Stats; a failed delivery takes it back.
func (d *direction) emit(p []byte, addr netip.AddrPort, owned bool) (int, error) {
	d.stats.sent.Add(1)
	n, err := d.deliver(p, addr, owned)
	if err != nil {
		d.stats.sent.Add(^uint64(0))
		if err == errOverflow {
			d.stats.dropped.Add(1)
		}
	}
	return n, err
}

// takeHeld removes the held-back datagram from the heap, for release right
// after the datagram now being offered. d.mu must be held.
func (d *direction) takeHeld() []*item {
	held := d.held
	d.held = nil
	for _, it := range held {
		heap.Remove(&d.pending, it.index)
		it.held = false
	}
	return held
}

// push schedules it, or drops it when too many are pending. d.mu must be
// held.
func (d *direction) push(it *item) bool {
	if len(d.pending) >= maxPending {
		d.stats.dropped.Add(1)
		return false
	}
	it.seq = d.seq
	d.seq++
	heap.Push(&d.pending, it)
	return true
}

// arm makes the timer fire when the earliest pending datagram is due. d.mu
// must be held.
func (d *direction) arm() {
	if len(d.pending) == 0 {
		return
	}
	due := d.pending[0].due
	if !d.armed.IsZero() && !due.Before(d.armed) {
		return
	}
	d.armed = due
	if d.timer == nil {
		d.timer = time.AfterFunc(time.Until(due), d.fire)
	} else {
		// Resetting a timer whose callback is already running schedules a
		// second run; deliverMu keeps the two from interleaving.
		d.timer.Reset(time.Until(due))
	}
}

// fire is the timer's callback: it delivers every datagram that is due.
func (d *direction) fire() {
	d.deliverMu.Lock()
	defer d.deliverMu.Unlock()
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	now := time.Now()
	var due []*item
	for len(d.pending) > 0 && !d.pending[0].due.After(now) {
		it := heap.Pop(&d.pending).(*item)
		if it.held {
			// It waited out ReorderHold with no datagram to overtake it.
			d.held = removeItem(d.held, it)
		}
		due = append(due, it)
	}
	d.armed = time.Time{}
	d.arm()
	d.mu.Unlock()
	for _, it := range due {
		d.emit(it.data, it.addr, true)
	}
}

// stop discards what is pending and stops the timer. When it returns, no
// delivery is in progress and none will start.
func (d *direction) stop() {
	d.mu.Lock()
	d.stopped = true
	if d.timer != nil {
		d.timer.Stop()
	}
	d.pending = nil
	d.held = nil
	d.mu.Unlock()
	// Wait out a delivery that was already under way.
	//lint:ignore SA2001 the empty critical section is the point
	d.deliverMu.Lock()
	d.deliverMu.Unlock()
}

func removeItem(items []*item, it *item) []*item {
	for i, x := range items {
		if x == it {
			return append(items[:i], items[i+1:]...)
		}
	}
	return items
}

// item is a datagram waiting for its due time.
type item struct {
	due   time.Time
	seq   uint64
	data  []byte
	addr  netip.AddrPort
	held  bool // held back for reordering
	index int  // position in the heap, for heap.Remove
}

// pendingHeap orders items by due time, then by arrival.
type pendingHeap []*item

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h pendingHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *pendingHeap) Push(x any) {
	it := x.(*item)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *pendingHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}

// counters are one direction's Counts, updated without locks so that Stats
// can be read at any time.
type counters struct {
	sent, dropped, duplicated, reordered, delayed atomic.Uint64
}

func (c *counters) load() Counts {
	return Counts{
		Sent:       c.sent.Load(),
		Dropped:    c.dropped.Load(),
		Duplicated: c.duplicated.Load(),
		Reordered:  c.reordered.Load(),
		Delayed:    c.delayed.Load(),
	}
}
