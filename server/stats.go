package server

import (
	"cmp"
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/histogram"
)

// What the server counts for its operator (package metrics reports it):
// atomic counters and histograms kept on the way, read by Stats, and what
// SessionStats works out from the session table when it is asked. Nothing
// here grows with the number of peers.

// DropReason is why the server dropped a datagram, in a few kinds: the
// label of a metric, so never words a peer chose. The log line of the drop
// (internal/droplog) says more.
type DropReason uint8

// The kinds of drop.
const (
	DropOversize      DropReason = iota // larger than a datagram may be
	DropUndecodable                     // no packet in the codec it was read in
	DropMalformed                       // a packet without what its type needs
	DropUnexpected                      // a packet its session's state does not expect
	DropNoSession                       // for a session the server does not have
	DropUnauthentic                     // does not open, or claims a key it does not prove
	DropReplay                          // replayed, or a duplicate over the rate of answers
	DropWindow                          // beyond the receive window
	DropBusy                            // the handler queue is full
	DropLimit                           // past a cap or a rate limit on sessions and handshakes
	DropAmplification                   // its answer would be larger than it is
	DropBanned                          // from a banned client
	DropHandshake                       // a KEY_REQ the server cannot answer
	NumDropReasons                      // how many kinds there are
)

var dropNames = [NumDropReasons]string{
	"oversize", "undecodable", "malformed", "unexpected", "no_session", "unauthentic",
	"replay", "window", "busy", "limit", "amplification", "banned", "handshake",
}

// String is the reason's label: "undecodable".
func (r DropReason) String() string {
	if r >= NumDropReasons {
		return "unknown"
	}
	return dropNames[r]
}

// lagBounds are the upper bounds of the recipient lag histogram, in
// messages: from none behind to a whole retention of the default room log
// (10,000) and beyond.
var lagBounds = []int64{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384}

// counters are what the server counts beside Stats' first fields.
type counters struct {
	sent, delivered, retransmitted, gaps, missed atomic.Uint64
	appends, reads                               atomic.Uint64
	droppedBy                                    [NumDropReasons]atomic.Uint64
	// latency is from a message's acceptance to its first transmission
	// to each version 2 recipient, in nanoseconds (countDelivered).
	latency *histogram.Histogram
}

// Stats counts what a Server has done, for tests and operators.
type Stats struct {
	Received  uint64 // datagrams read
	Dropped   uint64 // datagrams dropped as invalid, unauthentic, replayed or unexpected
	Accepted  uint64 // chat messages accepted (and acknowledged)
	Relayed   uint64 // DATA datagrams sent to recipients, retransmissions included
	Bundled   uint64 // version 2 DATA that carry a bundle of messages (core.Bundler)
	Sessions  int    // sessions now
	Handshake uint64 // sessions started
	Cookies   uint64 // COOKIE answers sent, under load

	Sent          uint64                 // datagrams written, of every kind
	DroppedBy     [NumDropReasons]uint64 // Dropped, by DropReason
	Delivered     uint64                 // messages handed to recipients for their first transmission: room, history, notices
	Retransmitted uint64                 // version 2 DATA sent again for want of an ACK
	Gaps          uint64                 // times a recipient fell behind the room log's retention and was told
	Missed        uint64                 // the messages those recipients missed
	LogAppends    uint64                 // appends to the room log
	LogReads      uint64                 // reads of the room log
	// Latency is the time from a message's acceptance (before the
	// handlers) to its first transmission to each version 2 recipient, in
	// seconds: not to its ACK, which comes back for a whole DATA.
	Latency histogram.Snapshot
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Received:  s.received.Load(),
		Accepted:  s.accepted.Load(),
		Relayed:   s.relayed.Load(),
		Bundled:   s.bundled.Load(),
		Sessions:  s.sessions.len(),
		Handshake: s.started.Load(),
		Cookies:   s.cookied.Load(),

		Sent:          s.sent.Load(),
		Delivered:     s.delivered.Load(),
		Retransmitted: s.retransmitted.Load(),
		Gaps:          s.gaps.Load(),
		Missed:        s.missed.Load(),
		LogAppends:    s.appends.Load(),
		LogReads:      s.reads.Load(),
		Latency:       s.latency.Snapshot(),
	}
	for i := range st.DroppedBy {
		st.DroppedBy[i] = s.droppedBy[i].Load()
		st.Dropped += st.DroppedBy[i] // each drop has its reason
	}
	return st
}

// countDelivered counts the n messages of a DATA just handed to a
// recipient's sender, whose latencies were gathered in t.
func (s *Server) countDelivered(n int, t *histogram.Tally) {
	s.delivered.Add(uint64(n))
	t.AddTo(s.latency)
}

// tallyLatency gathers into t the latency of a message accepted at
// accepted (its Time, which the server stamps) and sent at now: none for
// a zero accepted (history, direct messages). A clock that went back
// counts as no wait.
func (s *Server) tallyLatency(t *histogram.Tally, accepted, now time.Time) {
	if accepted.IsZero() {
		return
	}
	t.Observe(s.latency, max(now.Sub(accepted).Nanoseconds(), 0))
}

// acceptedAt is when m, the entry of c's channel at offset off, was
// accepted, for its latency: zero for history, sent as such long after.
func (c *cursor) acceptedAt(m *core.Message, off uint64) time.Time {
	if off < c.liveFrom {
		return time.Time{}
	}
	return m.Time
}

// readLog is the room log's Read, counted.
func (s *Server) readLog(ctx context.Context, room string, from uint64, max int, dst []core.LogEntry) ([]core.LogEntry, core.LogBounds, error) {
	s.reads.Add(1)
	return s.roomLog.Read(ctx, room, from, max, dst)
}

// SessionGroup counts the sessions of one protocol version, suite and
// codec.
type SessionGroup struct {
	Protocol uint8
	Suite    string
	Codec    string
	Sessions int
}

// SessionStats describes the sessions now, worked out from the session
// table when asked: each session takes its lock for a moment, so it is for
// a scrape every few seconds, not for a loop.
type SessionStats struct {
	// Groups count the sessions by protocol, suite and codec, in that
	// order: as few as the combinations the server speaks.
	Groups []SessionGroup
	// Lag is a histogram, over the confirmed version 2 sessions, of how
	// many messages of their channels each has yet to be sent: how far its
	// cursors are behind the heads of their rooms' logs.
	Lag histogram.Snapshot
}

// SessionStats returns the sessions' groups and lag now.
func (s *Server) SessionStats() SessionStats {
	type key struct {
		protocol     uint8
		suite, codec string
	}
	groups := map[key]int{}
	lag := histogram.New(1, lagBounds...)
	for _, sess := range s.sessions.all(0) {
		groups[key{sess.version, sess.suite.Name(), sess.codec.Name()}]++
		if sess.version < 2 || !sess.confirmed.Load() {
			continue
		}
		sess.mu.Lock()
		if !sess.ended && sess.placedLocked() {
			lag.Observe(int64(sess.behindLocked()))
		}
		sess.mu.Unlock()
	}
	st := SessionStats{Lag: lag.Snapshot()}
	for k, n := range groups {
		st.Groups = append(st.Groups, SessionGroup{Protocol: k.protocol, Suite: k.suite, Codec: k.codec, Sessions: n})
	}
	slices.SortFunc(st.Groups, func(a, b SessionGroup) int {
		return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Suite, b.Suite), cmp.Compare(a.Codec, b.Codec))
	})
	return st
}

// behindLocked is how many entries of its channels' logs sess has yet to be
// sent: from each cursor to its room's head, in the cursor's epoch (a
// cursor in an older one starts again at the head), but for those among
// the recent appends that it is not sent (skipsLocked: its own, which its
// cursor passes only at its next fill). sess.mu is held.
func (sess *session) behindLocked() uint64 {
	var n uint64
	for i := range sess.cursors() {
		c := sess.cursorAt(i)
		head := c.r.head.Load()
		if c.epoch != c.r.epoch.Load() || head <= c.next {
			continue
		}
		n += head - c.next
		for off := max(c.next, head-min(head, recentSize)); off < head; off++ {
			if l := c.r.cached(c.epoch, off); l != nil && sess.skipsLocked(l.enc.m) {
				n--
			}
		}
	}
	return n
}

// Serving reports whether the server is serving: from its "server ready"
// until its context ends, when it starts to shut down. For a readiness
// probe.
func (s *Server) Serving() bool { return s.ready.Load() && !s.stopping.Load() }
