package server

import (
	"context"
	"fmt"

	"github.com/udpchat/udpchat/core"
)

// handoff is work for the handler chain: messages from one session to hand
// on, in order, and then the ACK that says they were.
type handoff struct {
	sess *session
	msgs []*core.Message
	ack  func()
}

// handOn runs the handler chain on msgs and then ack, off the read loop
// when Serve runs: a slow or hung plugin then delays chat messages, never
// ACKs, keepalives or handshakes, so no session dies waiting for it. One
// worker keeps the order of arrival, so a session's messages stay in seq
// order and an ACK still means "handed on".
func (s *Server) handOn(ctx context.Context, sess *session, msgs []*core.Message, ack func()) {
	h := handoff{sess, msgs, ack}
	if s.work == nil {
		s.runHandoff(ctx, h)
		return
	}
	s.work <- h // room was checked before the receiver took the message (busy)
}

func (s *Server) runHandoff(ctx context.Context, h handoff) {
	for _, m := range h.msgs {
		s.accept(ctx, h.sess, m)
	}
	h.ack()
}

// busy reports whether the handler chain is so far behind that new DATA
// must wait: dropped unacknowledged, it comes again.
func (s *Server) busy() bool { return s.work != nil && len(s.work) >= cap(s.work)-1 }

// accept hands an authentic message from sess to the handler chain, and
// tells the sender if it was refused.
func (s *Server) accept(ctx context.Context, sess *session, m *core.Message) {
	s.accepted.Add(1)
	m.ID = s.nextMsg.Add(1)
	m.Time = s.cfg.Now()
	m.Origin = sess.id
	err := s.chain.HandleMessage(ctx, m)
	if err != nil {
		reason, ok := core.RejectionReason(err)
		if !ok {
			s.log.Error("handler failed", "session", fmt.Sprintf("%016x", sess.id), "err", err)
			reason = "the server could not handle your message"
		}
		s.notify(sess, core.KindError, reason)
	}
}
