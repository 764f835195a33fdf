package server

import (
	"context"
	"errors"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Following the room log. Servers that share a room's log (a JetStream
// stream, or one in-memory log in a test) each append to it; each learns of
// the others' entries by waiting on the log, not from its own appends. The
// follower is one goroutine per server: it waits for the log to grow past
// what it knows, and does for the entries another server appended what
// appendRoom does for its own (advance the head, cache their encodings,
// send seed clients their copy, fill every version 2 cursor). Entries this
// server appended are found in recent and cost it nothing but the wake.

// followBatch is how many entries the follower reads from the log at once.
const followBatch = 256

// The follower's backoff after the log fails: from followRetry, doubling
// up to followRetryMax, so that a log that is down is asked about a few
// times a minute, not in a loop.
const (
	followRetry    = 50 * time.Millisecond
	followRetryMax = 5 * time.Second
)

// follow waits on r's log for entries appended by anyone else until ctx
// is done, and hands them to the room.
func (s *Server) follow(ctx context.Context, r *room) {
	epoch, next := r.epoch.Load(), r.head.Load()
	retry := time.Duration(0)
	pending := time.NewTimer(time.Hour)
	pending.Stop()
	for {
		err := s.roomLog.Wait(ctx, r.name, epoch, next-1)
		if err == nil && !s.ownPending(ctx, r, next, pending) {
			epoch, next, err = s.catchUp(ctx, r, epoch, next)
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, core.ErrRoomLogClosed):
			s.log.Error("room log closed under the server: it no longer hears of other servers' messages", "channel", r.label(), "err", err)
			return
		case err != nil:
			retry = min(max(2*retry, followRetry), followRetryMax)
			s.log.Error("room log unreadable: other servers' messages wait", "channel", r.label(), "retry in", retry, "err", err)
			t := time.NewTimer(retry)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		default:
			retry = 0
		}
	}
}

// catchUp takes in r's entries from next (in epoch) to the log's head:
// those it does not find in recent were appended by another server, and
// are encoded once, cached, and sent to every recipient. It returns the
// epoch and head it now knows.
func (s *Server) catchUp(ctx context.Context, r *room, epoch, next uint64) (uint64, uint64, error) {
	// This server's own appends wake the follower too: those are in
	// recent, below the head, and are passed over without a round trip to
	// the log. The next Wait returns at once if there is more.
	from := next
	for head := r.head.Load(); next < head && r.cached(epoch, next) != nil; next++ {
	}
	if next > from {
		return epoch, next, nil
	}
	b, err := s.roomLog.Bounds(ctx, r.name)
	if err != nil {
		return epoch, next, err
	}
	if b.Epoch != epoch {
		s.restart(ctx, r, b)
		return b.Epoch, b.Next, nil
	}
	foreign := false
	for off := max(next, b.First); off < b.Next; {
		if r.cached(epoch, off) != nil {
			off++
			continue
		}
		batch := s.entries.Get().(*[]core.LogEntry)
		entries, rb, err := s.readLog(ctx, r.name, off, int(min(b.Next-off, followBatch)), (*batch)[:0])
		if err != nil {
			s.entries.Put(batch)
			return epoch, next, err
		}
		for i := range entries {
			e := &entries[i]
			if rb.Epoch != epoch || r.cached(epoch, e.Offset) != nil {
				continue
			}
			m := e.Message // the cache keeps it: a copy, not the pool's
			m.ID, m.Room = e.Offset, r.channel
			enc, err := s.encodeAll(&m)
			if err != nil {
				s.log.Error("another server's message cannot be encoded: its recipients read it from the log", "offset", e.Offset, "err", err)
				continue
			}
			r.remember(epoch, e.Offset, enc)
			foreign = true
		}
		done := len(entries) == 0 || rb.Epoch != epoch
		if !done {
			off = entries[len(entries)-1].Offset + 1
		}
		*batch = entries
		clear(*batch)
		s.entries.Put(batch)
		if rb.Epoch != epoch {
			s.restart(ctx, r, rb)
			return rb.Epoch, rb.Next, nil
		}
		if done {
			break
		}
	}
	r.advanceHead(b.Next)
	if foreign {
		s.fanOut(ctx, r)
	}
	return epoch, b.Next, nil
}

// restart takes in r's log, lost and started again (a new epoch): the
// head is the new log's, seed clients go on from it, and each version 2
// recipient learns of it as takeBatch tells one that reads it.
func (s *Server) restart(ctx context.Context, r *room, b core.LogBounds) {
	s.log.Warn("room log has a new epoch: recipients start again at its head", "channel", r.label(), "epoch", b.Epoch, "head", b.Next)
	r.seedMu.Lock()
	r.epoch.Store(b.Epoch)
	r.head.Store(b.Next)
	r.seedEpoch, r.seedNext = b.Epoch, b.Next
	for _, sess := range s.sessions.all(0) {
		// A seed client's catch-up boundary (sendV1) is an offset of the
		// lobby's old log: the new one's entries are all past it.
		if sess.version < 2 && r == s.lobby {
			sess.mu.Lock()
			sess.next = min(sess.next, b.Next)
			sess.mu.Unlock()
		}
	}
	r.seedMu.Unlock()
	s.fanOut(ctx, r)
}

// fanOut sends every recipient in r what it has not had of it: seed
// clients from the seed position, version 2 ones from their cursors.
// Unlike appendRoom it never waits for a slow recipient: nobody's ACK is
// held here to slow down.
func (s *Server) fanOut(ctx context.Context, r *room) {
	out := s.newOutbox()
	s.sendSeeds(ctx, r, out)
	for _, sess := range s.sessions.all(0) {
		if sess.version >= 2 && (r == s.lobby || sess.in(r)) {
			s.fill(ctx, sess, out)
		}
	}
	out.release()
}

// cached returns r's entry at offset off of epoch from recent, or nil.
func (r *room) cached(epoch, off uint64) *logged {
	if l := r.recent[off%recentSize].Load(); l != nil && l.offset == off && l.epoch == epoch {
		return l
	}
	return nil
}

// remember caches the encodings of the room's entry at off, unless its
// slot holds a later entry already: the follower and appendRoom both store
// there, and one that is behind must not push out what a reader is more
// likely to want.
func (r *room) remember(epoch, off uint64, enc *encodings) {
	l := &logged{epoch: epoch, offset: off, enc: enc}
	slot := &r.recent[off%recentSize]
	for {
		old := slot.Load()
		if old != nil && old.epoch == epoch && old.offset >= off {
			return
		}
		if slot.CompareAndSwap(old, l) {
			return
		}
	}
}

// advanceHead moves the head to next unless it is there or beyond: the
// follower and appendRoom each move it as they learn of entries, in either
// order.
func (r *room) advanceHead(next uint64) {
	for head := r.head.Load(); next > head && !r.head.CompareAndSwap(head, next); head = r.head.Load() {
	}
}

// sendSeeds sends the seed clients in r its entries from the seed position
// to the head, in the log's order, each encoded once for them all, and
// moves the position past them. Another server's entries are among them,
// read from the log if they are not in recent: so an entry appended
// elsewhere between two of this server's is sent, not skipped. Version 1
// is best effort, so an entry the log no longer has (or cannot give) is
// passed over, logged.
func (s *Server) sendSeeds(ctx context.Context, r *room, out *outbox) {
	r.seedMu.Lock()
	defer r.seedMu.Unlock()
	// What is sent goes out before the next sender takes the position:
	// two outboxes flushed in the other order would reorder the room.
	defer out.flush()
	head := r.head.Load()
	if r.seedNext >= head {
		return
	}
	seeds := s.sessions.seeds()
	if r != s.lobby {
		seeds = seedsIn(seeds, r)
	}
	if len(seeds) == 0 {
		r.seedNext = head
		return
	}
	for r.seedNext < head {
		if l := r.cached(r.seedEpoch, r.seedNext); l != nil {
			s.sendSeed(seeds, l.enc, out)
			r.seedNext++
			continue
		}
		entries, b, err := s.readLog(ctx, r.name, r.seedNext, int(min(head-r.seedNext, followBatch)), nil)
		switch {
		case err != nil:
			s.log.Error("room log unreadable: seed clients miss messages", "channel", r.label(), "missed", head-r.seedNext, "err", err)
			r.seedNext = head
			return
		case b.Epoch != r.seedEpoch:
			r.seedEpoch, r.seedNext = b.Epoch, b.Next
			return
		case len(entries) == 0:
			r.seedNext = head
			return
		}
		for i := range entries {
			m := &entries[i].Message
			m.ID, m.Room = entries[i].Offset, r.channel
			s.sendSeed(seeds, &encodings{m: m}, out)
			r.seedNext = entries[i].Offset + 1
		}
	}
}

// sendSeed sends the room's entry enc to each seed client in seeds but its
// sender: through the seed lanes while Serve runs, else at once, through
// out.
func (s *Server) sendSeed(seeds []*session, enc *encodings, out *outbox) {
	refused := ^uint64(0)
	if s.lanes != nil {
		refused = s.lanes.pushRoom(seedJob{kind: seedRoom, text: enc.v1Text(), id: enc.m.ID, lobby: enc.m.Room == "",
			origin: enc.m.Origin, to: seeds})
	}
	if refused == 0 {
		return
	}
	for _, sess := range seeds {
		if sess.id != enc.m.Origin && (s.lanes == nil || refused&(1<<s.lanes.laneIndex(sess)) != 0) {
			s.sendV1(sess, enc, out)
		}
	}
}

// seedsIn returns the sessions of seeds that are in the channel r.
func seedsIn(seeds []*session, r *room) []*session {
	var in []*session
	for _, sess := range seeds {
		if sess.in(r) {
			in = append(in, sess)
		}
	}
	return in
}
