package server

import (
	"context"
	"fmt"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Pipelined appends. A room log in another process (JetStream) takes a
// round trip to append to, and the handler worker is one goroutine: were
// it to wait for each append, the room would carry one message per round
// trip. With a log that is a core.AppendStarter, the worker starts each
// room message's append as the handlers pass it (deliver, through the slot
// accept puts in the context) and goes on to the next message; the
// committer, one goroutine, finishes the appends in the order they were
// started (stamps the offset, caches the encodings, fills the cursors) and
// only then gives the ACKs, which the worker queues behind them. So an
// ACK still means "in the room's log", and a session's ACKs keep their
// order, as a cumulative layer needs.

// commitQueue bounds the appends and ACKs waiting for the committer: the
// worker waits when it is full.
const commitQueue = 256

// pending is one item of the committer's queue: an append under way
// (wait set), or a verdict owed to a sender (h set), which comes after
// the append it may depend on.
type pending struct {
	// An append.
	wait func(context.Context) (core.LogEntry, error)
	r    *room
	m    *core.Message
	enc  *encodings
	err  error // its outcome, set by the committer
	// A verdict.
	h      handoff
	seq    uint64
	reason string
	after  *pending // the message's append, if it was one of the room
}

// pipelineKey is the context key of the slot in which deliver leaves the
// append it started for accept: the handler worker's context carries it,
// made once (workerContext), so that only the worker's calls find it.
type pipelineKey struct{}

// workerContext is ctx with the handler worker's slot, if the server
// pipelines appends.
func (s *Server) workerContext(ctx context.Context) context.Context {
	if s.commits == nil {
		return ctx
	}
	return context.WithValue(ctx, pipelineKey{}, new(*pending))
}

// startAppend starts m's append and queues it for the committer, if the
// server pipelines and ctx carries accept's slot; it reports false if not,
// for the caller to append at once. Only the handler worker's calls carry
// the slot: the worker is the queue's one writer, so appends are queued in
// the order they were started.
func (s *Server) startAppend(ctx context.Context, r *room, m *core.Message, fitted *encodings) bool {
	slot, _ := ctx.Value(pipelineKey{}).(**pending) // only while commits is
	if slot == nil {
		return false
	}
	p := &pending{wait: s.starter.StartAppend(ctx, r.name, m), r: r, m: m, enc: fitted}
	s.appends.Add(1)
	s.inFlight.Add(1)
	*slot = p
	s.commits <- p
	return true
}

// verdict gives the ACK of h's seq with reason, once the append after
// (if any) is done: at once without a committer, else in its queue.
func (s *Server) verdict(h handoff, seq uint64, reason string, after *pending) {
	if s.commits == nil {
		s.give(h, seq, reason, nil) // no append to wait for
		return
	}
	s.commits <- &pending{h: h, seq: seq, reason: reason, after: after}
}

// commit runs the committer until the worker, the queue's one writer,
// closes the queue as it stops: so what was queued gets its due even while
// the server stops (appends are finished or fail, ACKs are sent), and no
// sender waits on an ACK that was dropped on the way out.
func (s *Server) commit(ctx context.Context) {
	var d waitBound
	defer d.stop()
	for p := range s.commits {
		s.commitOne(ctx, &d, p)
	}
}

// waitBound is the committer's bound on each wait: HandlerDeadline, or as
// little as half of it, since a context with a timer is made only when
// the last one has less than half left, not for every message.
type waitBound struct {
	ctx    context.Context
	cancel context.CancelFunc
	at     time.Time
}

func (d *waitBound) get(ctx context.Context, bound time.Duration) context.Context {
	if now := time.Now(); d.ctx == nil || d.at.Sub(now) < bound/2 {
		d.stop()
		d.at = now.Add(bound)
		d.ctx, d.cancel = context.WithDeadline(context.WithoutCancel(ctx), d.at)
	}
	return d.ctx
}

func (d *waitBound) stop() {
	if d.cancel != nil {
		d.cancel()
	}
}

func (s *Server) commitOne(ctx context.Context, d *waitBound, p *pending) {
	if p.wait != nil {
		e, err := p.wait(d.get(ctx, s.cfg.HandlerDeadline))
		defer s.inFlight.Add(-1) // after the head moved: fitRoom counts on one or the other
		if err != nil {
			p.err = fmt.Errorf("server: room log: %w", err)
			return
		}
		if err := s.appended(ctx, p.r, p.m, e, p.enc); err != nil {
			p.err = err
		}
		select {
		case s.committed <- struct{}{}:
		default: // a token waits already
		}
		return
	}
	s.give(p.h, p.seq, p.reason, p.after)
}

// give gives the ACK of h's seq with reason: the refusal of a failed
// append if after failed and nothing else refused the message.
func (s *Server) give(h handoff, seq uint64, reason string, after *pending) {
	if after != nil && after.err != nil && reason == "" {
		s.log.Error("handler failed", "session", fmt.Sprintf("%016x", h.sess.id), "err", after.err)
		reason = "the server could not handle your message"
		s.notify(h.sess, core.KindError, reason)
	}
	s.judged(h.sess, seq)
	h.ack(seq, reason)
}

// commitWait bounds how long the follower waits for the committer to take
// in an entry the log told it of before going to the log for it, as for
// another server's: a committer held up (a log electing a leader) must
// not hold up other servers' messages for longer.
const commitWait = 100 * time.Millisecond

// ownPending reports whether the entries the follower was woken for are
// probably this server's own appends, told of by the log before the
// committer took them in (the head is where the follower is, and appends
// are under way); if so it waits, up to commitWait, for the committer to
// finish one. The follower then looks again, and finds them cached, rather
// than read the log and take them for another server's (a round trip for
// the log's bounds and a second encoding of each).
func (s *Server) ownPending(ctx context.Context, r *room, next uint64, t *time.Timer) bool {
	if s.committed == nil || next < r.head.Load() || s.inFlight.Load() == 0 {
		return false
	}
	t.Reset(commitWait)
	defer t.Stop()
	select {
	case <-s.committed:
		return true
	case <-ctx.Done():
		return true
	case <-t.C:
		return false
	}
}
