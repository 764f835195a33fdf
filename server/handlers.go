package server

import (
	"context"
	"fmt"

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
	if s.work == nil {
		s.admit(ctx, h)
		return
	}
	s.work <- h // room was checked before the receiver took the message (busy)
}

func (s *Server) runHandoff(ctx context.Context, h handoff) {
	verdict := ""
	for i, m := range h.msgs {
		var reason string
		if m == nil {
			reason = unreadable
			s.notify(h.sess, core.KindError, reason)
		} else {
			reason = s.accept(ctx, h.sess, m)
		}
		s.judged(h.sess, h.first+uint64(i))
		if seq := h.first + uint64(i); seq != h.seq {
			h.ack(seq, reason) // held back behind a gap, handed on now
		} else {
			verdict = reason
		}
	}
	h.ack(h.seq, verdict)
}

// busy reports whether the handler chain is so far behind that new DATA
// must wait: dropped unacknowledged, it comes again.
func (s *Server) busy() bool { return s.work != nil && len(s.work) >= cap(s.work)-1 }

// accept hands an authentic message from sess to the handler chain. If it
// was refused, it tells the sender with a notice (which every client shows,
// a seed's too) and returns why, for the ACK; "" if it was accepted.
func (s *Server) accept(ctx context.Context, sess *session, m *core.Message) string {
	s.accepted.Add(1)
	m.ID = 0 // the room log gives a room message its offset
	m.Time = s.cfg.Now()
	m.Origin = sess.id
	err := s.chain.HandleMessage(ctx, m)
	if err == nil {
		return ""
	}
	reason, ok := core.RejectionReason(err)
	if !ok {
		s.log.Error("handler failed", "session", fmt.Sprintf("%016x", sess.id), "err", err)
		reason = "the server could not handle your message"
	}
	if reason == "" {
		reason = "refused"
	}
	s.notify(sess, core.KindError, reason)
	return reason
}
