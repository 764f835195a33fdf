package memory

import (
	"sync"
	"time"

	"github.com/udpchat/udpchat/core"
)

// room is one room's log: a ring of its newest entries, which grows up to
// the log's MaxEntries and then drops its oldest for each one appended.
type room struct {
	mu    sync.Mutex
	limit int    // the most entries the ring holds
	ring  []slot // grows by doubling up to limit, so an idle room costs little
	head  int    // ring index of the oldest entry
	n     int    // entries held
	first uint64 // the offset of the oldest entry (of the next one, if n == 0)
	// changed is closed, and cleared, by the next append: Wait's broadcast.
	// A waiter makes it when there is none, so that appends no one waits
	// for allocate nothing.
	changed chan struct{}
}

// slot is one entry and when it was appended, for MaxAge.
type slot struct {
	e  core.LogEntry
	at time.Time
}

// initialRing is the ring's first size: a few messages, for rooms that see
// few.
const initialRing = 16

func newRoom(limit int) *room { return &room{limit: limit, first: 1} }

// append adds a copy of m at now, drops what retention says to, and wakes
// the waiters.
func (r *room) append(m *core.Message, now, cutoff time.Time) core.LogEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(cutoff)
	if r.n == len(r.ring) {
		if len(r.ring) < r.limit {
			r.grow()
		} else {
			r.drop()
		}
	}
	e := core.LogEntry{Offset: r.first + uint64(r.n), Message: *m}
	r.ring[(r.head+r.n)%len(r.ring)] = slot{e: e, at: now}
	r.n++
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
	return e
}

// read appends to dst at most limit entries from offset from (from the
// oldest if from is before it), and returns the bounds it read within.
func (r *room) read(from uint64, limit int, dst []core.LogEntry, cutoff time.Time) ([]core.LogEntry, uint64, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(cutoff)
	next := r.first + uint64(r.n)
	from = max(from, r.first)
	for o := from; o < next && limit > 0; o++ {
		dst = append(dst, r.ring[(r.head+int(o-r.first))%len(r.ring)].e)
		limit--
	}
	return dst, r.first, next
}

// waitPast returns nil if the room holds an offset past after, or else the
// channel the next append closes.
func (r *room) waitPast(after uint64) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if last := r.first + uint64(r.n) - 1; last > after {
		return nil
	}
	if r.changed == nil {
		r.changed = make(chan struct{})
	}
	return r.changed
}

// expire drops the entries appended before cutoff (none if it is zero).
func (r *room) expire(cutoff time.Time) {
	if cutoff.IsZero() {
		return
	}
	for r.n > 0 && r.ring[r.head].at.Before(cutoff) {
		r.drop()
	}
}

// drop removes the oldest entry, clearing its slot so that its strings can
// be collected.
func (r *room) drop() {
	r.ring[r.head] = slot{}
	r.head = (r.head + 1) % len(r.ring)
	r.n--
	r.first++
}

// grow doubles the ring, up to limit, keeping the entries in order.
func (r *room) grow() {
	size := min(max(2*len(r.ring), initialRing), r.limit)
	ring := make([]slot, size)
	for i := range r.n {
		ring[i] = r.ring[(r.head+i)%len(r.ring)]
	}
	r.ring, r.head = ring, 0
}
