package server

import (
	"context"
	"fmt"
	"time"

	"github.com/udpchat/udpchat/core"
)

// The rate limit delays, it does not drop: IRC servers' "fakelag". A
// session's message over its token bucket (Config.RateLimit) waits, and its
// ACK with it, until the bucket allows it; a user who pastes a paragraph
// sees it arrive whole, slower, instead of losing its tail. A stop-and-wait
// client has one message in flight, so the held ACK is what slows it down;
// a window client's further messages wait in line behind it.
//
// The wait happens off the handler worker, which every session shares: a
// session's delayed handoffs wait in its own FIFO (session.lag), and the
// timer loop hands the worker a release when the first is due. While the
// FIFO holds anything, every later handoff of that session joins its back,
// so a session's order is kept and a duplicate is answered after its
// original.
//
// A peer decides how much it sends, so the wait is bounded twice: a message
// that would wait longer than RateLimit.MaxLag, or that finds maxLagged
// handoffs already waiting, is refused at once, with its own notice and its
// own refused verdict, and its reservation is given back so that it costs
// no tokens. Nothing is ever dropped without a word: each message is
// relayed or refused, and its sender told which.

// maxLagged bounds a session's FIFO. Within the default limit (2 a second,
// up to 30 s) about 60 messages can be waiting, the rest of a window
// client's 128 in flight being refused for waiting too long. More than this
// is a peer ignoring its window.
const maxLagged = 128

// seedPatience caps the wait of a version 1 session's message. A seed
// client sends a DATA six times, 2 s apart, and gives up 12 s after the
// first: an ACK held longer would reach a client that already reported
// the message lost, which the room then got. Better refused, and said so.
const seedPatience = 10 * time.Second

// lagged is a handoff that waits for the rate limit.
type lagged struct {
	h  handoff
	at time.Time // when it may be handed on: zero for one that only waits its turn
}

// admit is where the worker takes a handoff: at once, or into its
// session's FIFO to wait for the rate limit, or refused for waiting too
// long. A release hands on what is due.
func (s *Server) admit(ctx context.Context, h handoff) {
	switch {
	case h.release:
		s.release(ctx, h.sess)
		return
	case h.sess.limiter == nil:
		s.runHandoff(ctx, h)
		return
	}
	// Each message has its own wait, its own verdict and its own ACK.
	acked := false
	for i, m := range h.msgs {
		seq := h.first + uint64(i)
		acked = acked || seq == h.seq
		s.admitOne(ctx, handoff{sess: h.sess, msgs: []*core.Message{m}, first: seq, seq: seq, ack: h.ack, at: h.at})
	}
	if !acked {
		s.admitOne(ctx, handoff{sess: h.sess, first: h.seq, seq: h.seq, ack: h.ack, at: h.at})
	}
}

// admitOne is admit for one message, or for an ACK alone (a duplicate, or
// a DATA held back behind a gap).
func (s *Server) admitOne(ctx context.Context, h handoff) {
	sess := h.sess
	now := s.cfg.Now()
	sess.mu.Lock()
	if sess.ended {
		// Gone while this was on its way: there is no one to answer.
		sess.mu.Unlock()
		return
	}
	waiting := len(sess.lag) > 0
	if len(h.msgs) == 0 || h.msgs[0] == nil {
		// An ACK alone, or a message that could not be read: they cost no
		// tokens, but wait their turn.
		switch {
		case !waiting:
		case len(h.msgs) == 0 && sess.lagHasLocked(h.seq):
			// A duplicate of one waiting: that one's ACK answers both.
			sess.mu.Unlock()
			return
		case len(sess.lag) < maxLagged:
			sess.lag = append(sess.lag, lagged{h: h})
			sess.lagHeldLocked()
			sess.mu.Unlock()
			return
		case len(h.msgs) == 0:
			// The line is full of this peer's messages, whose ACKs answer
			// its retransmissions: this one adds nothing.
			sess.mu.Unlock()
			return
		}
		sess.mu.Unlock()
		s.runHandoff(ctx, h)
		return
	}
	r := sess.limiter.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if delay <= 0 && !waiting {
		sess.mu.Unlock()
		s.runHandoff(ctx, h)
		return
	}
	longest := s.live.Load().rate.MaxLag
	if sess.version < 2 {
		longest = min(longest, seedPatience)
	}
	full := len(sess.lag) >= maxLagged
	if !r.OK() || delay > longest || full || s.work == nil {
		r.CancelAt(now) // it costs no tokens
		sess.mu.Unlock()
		s.refuseNow(sess, h, s.slowDown(delay, longest, full))
		return
	}
	at := now.Add(max(delay, 0))
	sess.lag = append(sess.lag, lagged{h: h, at: at})
	sess.lagHeldLocked()
	if !waiting {
		s.lagDueLocked(sess, at)
	}
	sess.mu.Unlock()
}

// slowDown is the reason a message over the rate is refused.
func (s *Server) slowDown(delay, longest time.Duration, full bool) string {
	l := s.live.Load().rate
	switch {
	case full:
		return fmt.Sprintf("slow down: %d of your messages already wait (at most %d at once, then %g a second)",
			maxLagged, l.Burst, l.Rate)
	case longest <= 0:
		return fmt.Sprintf("slow down: at most %d messages at once, then %g a second", l.Burst, l.Rate)
	}
	return fmt.Sprintf("slow down: this message would wait %v, longer than the %v the server holds one (at most %d at once, then %g a second)",
		delay.Round(time.Millisecond), longest, l.Burst, l.Rate)
}

// refuseNow refuses h's message without handing it on: the sender gets a
// notice, and the ACK its verdict.
func (s *Server) refuseNow(sess *session, h handoff, reason string) {
	s.notify(sess, core.KindError, reason)
	s.verdict(h, h.seq, reason, nil)
}

// release hands on, in order, what waits in sess's FIFO and is due, and
// asks the timer loop to come back for the rest.
func (s *Server) release(ctx context.Context, sess *session) {
	for {
		now := s.cfg.Now()
		sess.mu.Lock()
		if sess.ended || len(sess.lag) == 0 {
			sess.mu.Unlock()
			return
		}
		head := sess.lag[0]
		if head.at.After(now) {
			s.lagDueLocked(sess, head.at)
			sess.mu.Unlock()
			return
		}
		sess.lag[0] = lagged{}
		if sess.lag = sess.lag[1:]; len(sess.lag) == 0 {
			sess.lag = nil // a burst's array, not kept by an idle session
		}
		sess.lagHeldLocked()
		sess.mu.Unlock()
		// The rate limit's wait is not the handlers': the deadline counts
		// from when the message was due.
		head.h.at = later(head.h.at, head.at)
		s.runHandoff(ctx, head.h)
	}
}

// lagDueLocked asks the timer loop to release sess at at.
func (s *Server) lagDueLocked(sess *session, at time.Time) {
	s.lagMu.Lock()
	s.lagging[sess] = at
	s.lagMu.Unlock()
}

// releaseDue hands the worker a release for each session whose first
// delayed message is due. It never waits for the worker: one too busy to
// take a release gets it on a later tick. It leaves the read loop room for
// the DATA it found room for (busy), so that the read loop never waits.
func (s *Server) releaseDue(now time.Time) {
	s.lagMu.Lock()
	var due []*session
	for sess, at := range s.lagging {
		if !now.Before(at) {
			due = append(due, sess)
			delete(s.lagging, sess)
		}
	}
	s.lagMu.Unlock()
	for i, sess := range due {
		if len(s.work) >= cap(s.work)-2 {
			// Only this goroutine and the read loop send, and the read loop
			// sends only when it saw room for one more.
			s.lagMu.Lock()
			for _, sess := range due[i:] {
				if _, ok := s.lagging[sess]; !ok {
					s.lagging[sess] = now
				}
			}
			s.lagMu.Unlock()
			return
		}
		s.work <- handoff{sess: sess, release: true}
	}
}

// dropLag forgets what sess had waiting: its session has ended, and no
// one is left to answer. It was not acknowledged, so its sender never
// took it for delivered.
func (s *Server) dropLag(sess *session) {
	sess.mu.Lock()
	clear(sess.lag)
	sess.lag = nil
	sess.lagHeldLocked()
	sess.mu.Unlock()
	s.lagMu.Lock()
	delete(s.lagging, sess)
	s.lagMu.Unlock()
}

// judged records that the worker has judged sess's seq, so that an ACK's
// cumulative part may cover it.
func (s *Server) judged(sess *session, seq uint64) {
	if sess.limiter == nil {
		return // no FIFO, so nothing is judged out of turn
	}
	sess.mu.Lock()
	sess.judgedTo = max(sess.judgedTo, seq+1)
	sess.mu.Unlock()
}

// lagHasLocked reports whether a handoff for seq waits in the FIFO.
func (s *session) lagHasLocked(seq uint64) bool {
	for _, l := range s.lag {
		if l.h.seq == seq {
			return true
		}
	}
	return false
}

// lagHeldLocked notes the first message still waiting in the FIFO, below
// which an ACK's cumulative part must stay.
func (s *session) lagHeldLocked() {
	s.lagHeld = false
	for _, l := range s.lag {
		if len(l.h.msgs) > 0 {
			s.lagHeld, s.lagFrom = true, l.h.first
			return
		}
	}
}

// ackCumLocked is the cumulative part of the ACK of seq: what was handed on
// and judged, seq and all below it. Messages are judged in order, but for
// those a refusal overtook while they waited for the rate limit: the
// cumulative part then stops below the first still waiting, and once that
// is judged covers the refused ones after it too. It never covers what the
// read loop took and the worker has yet to see.
func (s *session) ackCumLocked(seq uint64) uint64 {
	cum := min(s.recv.Cumulative(), max(seq+1, s.judgedTo))
	if s.lagHeld {
		cum = min(cum, s.lagFrom)
	}
	return cum
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
