package jetstream

import (
	"github.com/nats-io/nats.go"

	"github.com/udpchat/udpchat/core"
)

// recentSize is how many of a room's latest entries the log keeps from the
// live messages: a reader following the room (another server's appends)
// reads what is new from them without a round trip. The server reads a
// flight (64 at most) at a time; 64 entries of a short message are about
// 20 KB per room.
const recentSize = 64

// recent is a ring of a room's latest entries, contiguous: a gap in the
// live messages starts it again. Its entries share their strings with
// readers, which is safe since a Message's strings cannot change.
type recent struct {
	ring  []core.LogEntry
	head  int    // ring index of the oldest
	n     int    // entries held
	first uint64 // the oldest's offset
}

// next is the offset after the newest entry held.
func (c *recent) next() uint64 { return c.first + uint64(c.n) }

// add adds e, dropping the oldest if the ring is full, or everything if e
// does not follow the newest.
func (c *recent) add(e core.LogEntry, size int) {
	if size <= 0 {
		return
	}
	if c.ring == nil {
		c.ring = make([]core.LogEntry, size)
	}
	if c.n > 0 && e.Offset != c.next() {
		c.reset()
	}
	if c.n == 0 {
		c.head, c.first = 0, e.Offset
	}
	if c.n == len(c.ring) {
		c.ring[c.head] = core.LogEntry{}
		c.head = (c.head + 1) % len(c.ring)
		c.first++
		c.n--
	}
	c.ring[(c.head+c.n)%len(c.ring)] = e
	c.n++
}

// reset forgets every entry.
func (c *recent) reset() {
	clear(c.ring)
	c.head, c.n, c.first = 0, 0, 0
}

// readRecent answers Read from r's recent entries, if they hold everything
// from from to the room's Next as the log knows it: a reader near the head
// needs no round trip. It does not answer when entries expire by age, which
// it cannot see, or when an append this log made has not come back live
// yet, or while the connection is down (the live messages it knows the
// room by are not coming). First is the last one read from the stream, moved up by what
// MaxEntries has pushed out since.
func (l *Log) readRecent(r *room, from uint64, max int, dst []core.LogEntry) ([]core.LogEntry, core.LogBounds, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &r.recent
	if l.maxAge != 0 || c.n == 0 || c.next() != r.next || l.nc.Status() != nats.CONNECTED {
		return dst, core.LogBounds{}, false
	}
	first := r.first
	if kept := uint64(l.maxMsgs); r.next > kept {
		first = maxOf(first, r.next-kept)
	}
	b := core.LogBounds{Epoch: r.epoch, First: first, Next: r.next}
	from = maxOf(from, first)
	if max <= 0 || from >= b.Next {
		return dst, b, true
	}
	if from < c.first {
		return dst, core.LogBounds{}, false
	}
	for o := from; o < b.Next && max > 0; o, max = o+1, max-1 {
		dst = append(dst, c.ring[(c.head+int(o-c.first))%len(c.ring)])
	}
	return dst, b, true
}
