package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/udpchat/udpchat/core"
)

// handoff is work for the handler chain: messages from one session to hand
// on, in order, and then the ACKs that say they were, each with its verdict.
type handoff struct {
	sess *session
	// msgs are the messages with seqs first, first+1, ...: a nil one could
	// not be read.
	msgs  []*core.Message
	first uint64
	// seq is the DATA that brought them (or a duplicate of one), acknowledged
	// last: with a cumulative layer its ACK covers the others.
	seq uint64
	// ack acknowledges one seq with its verdict: "" accepted (or not known
	// here, for a duplicate), otherwise why it was refused.
	ack func(seq uint64, refused string)
	// release is no message: it tells the worker that sess's delayed
	// messages may be due (lag.go).
	release bool
	// at is when the messages came to the handler queue (or, delayed by
	// the rate limit, were due): their HandlerDeadline counts from it.
	at time.Time
}

// unreadable is the verdict on a message the server could not decode.
const unreadable = "the server could not read your message"

// handOn runs the handler chain on h's messages and then acknowledges them,
// off the read loop when Serve runs: a slow or hung plugin then delays chat
// messages, never ACKs, keepalives or handshakes, so no session dies waiting
// for it. One worker keeps the order of arrival, so a session's messages
// stay in seq order and an ACK still means "handed on", and says how it went
// (a duplicate's ACK comes after the first copy's verdict is known).
func (s *Server) handOn(ctx context.Context, h handoff) {
	h.at = s.cfg.Now()
	if s.work == nil {
		s.admit(ctx, h)
		return
	}
	s.work <- h // room was checked before the receiver took the message (busy)
}

func (s *Server) runHandoff(ctx context.Context, h handoff) {
	// The handoff's messages came in one DATA, so they share its
	// deadline: one context (and timer) for them all.
	hctx, cancel := context.WithDeadlineCause(ctx, s.deadline(h.at), errHandlerDeadline)
	defer cancel()
	verdict, last := "", (*pending)(nil)
	for i, m := range h.msgs {
		var reason string
		var appending *pending
		if m == nil {
			reason = unreadable
			s.notify(h.sess, core.KindError, reason)
		} else {
			reason, appending = s.accept(hctx, h.sess, m, h.at)
		}
		if seq := h.first + uint64(i); seq != h.seq {
			s.verdict(h, seq, reason, appending) // held back behind a gap, handed on now
		} else {
			verdict, last = reason, appending
		}
	}
	s.verdict(h, h.seq, verdict, last)
}

// busy reports whether the handler chain is so far behind that new DATA
// must wait: dropped unacknowledged, it comes again.
func (s *Server) busy() bool { return s.work != nil && len(s.work) >= cap(s.work)-1 }

// errHandlerDeadline is the cause of a message's context ending at its
// HandlerDeadline, and the error of a message refused for it.
var errHandlerDeadline = errors.New("server: the message's handler deadline passed")

// deadline is when a message that came to the handler queue at at must
// have its verdict, in real time: the context's clock, while the
// configuration's (Now) may be a test's.
func (s *Server) deadline(at time.Time) time.Time {
	return time.Now().Add(at.Add(s.cfg.HandlerDeadline).Sub(s.cfg.Now()))
}

// accept hands an authentic message from sess, which came to the handler
// queue at at, to the handler chain, within its HandlerDeadline; ctx ends
// then. If it was
// refused, it tells the sender with a notice (which every client shows, a
// seed's too) and returns why, for the ACK; "" if it was accepted. If its
// append to the room's log was started and is under way (commit.go), it
// returns that too: the ACK waits for it.
func (s *Server) accept(ctx context.Context, sess *session, m *core.Message, at time.Time) (string, *pending) {
	s.accepted.Add(1)
	m.ID = 0 // the room log gives a room message its offset
	m.Time = s.cfg.Now()
	m.Origin = sess.id
	err := errHandlerDeadline // its turn came too late: the handlers never see it
	slot, _ := ctx.Value(pipelineKey{}).(**pending)
	if slot != nil {
		*slot = nil
	}
	if left := at.Add(s.cfg.HandlerDeadline).Sub(m.Time); left > 0 {
		if err = s.placeMessage(sess, m); err == nil {
			err = s.live.Load().chain.HandleMessage(ctx, m)
		}
		if errors.Is(err, context.DeadlineExceeded) && pastDeadline(ctx) {
			err = errHandlerDeadline // a handler gave up on the context
		}
	}
	if err == nil {
		if slot != nil {
			return "", *slot
		}
		return "", nil
	}
	reason, ok := core.RejectionReason(err)
	switch {
	case ok:
	case errors.Is(err, errHandlerDeadline):
		reason = s.busyReason()
		s.log.Warn("message refused: handlers too far behind", "session", fmt.Sprintf("%016x", sess.id),
			"waited", s.cfg.Now().Sub(at).Round(time.Millisecond), "deadline", s.cfg.HandlerDeadline)
	default:
		s.log.Error("handler failed", "session", fmt.Sprintf("%016x", sess.id), "err", err)
		reason = "the server could not handle your message"
	}
	if reason == "" {
		reason = "refused"
	}
	s.notify(sess, core.KindError, reason)
	return reason, nil
}

// busyReason is the verdict on a message whose HandlerDeadline passed.
func (s *Server) busyReason() string {
	return fmt.Sprintf("server busy: try again (the server's handlers are more than %v behind)", s.cfg.HandlerDeadline)
}

// pastDeadline reports whether ctx's deadline has passed, even if its
// timer has yet to fire: a handler (a gRPC call) may see it first.
func pastDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}
