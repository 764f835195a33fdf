package server

import (
	"fmt"

	"github.com/udpchat/udpchat/core"
)

// queueLocked queues the encoded message m for sess. It refuses with
// ErrQueueFull when server.recipient_queue messages already wait.
func (s *Server) queueLocked(sess *session, m []byte) error {
	if sess.backlog >= s.cfg.RecipientQueue {
		return fmt.Errorf("%d messages waiting: %w", sess.backlog, core.ErrQueueFull)
	}
	if sess.bundler == nil || sess.flow == nil || len(sess.held) == 0 && sess.flow.CanSend() {
		if err := s.pushLocked(sess, m, 1); err != nil {
			return err
		}
		sess.backlog++
		return nil
	}
	if len(sess.held) >= core.MaxBundle ||
		sess.heldBytes+len(m)+(len(sess.held)+1)*core.MaxBundleOverhead > s.maxV2 {
		// The bundle is full: it waits in the layer's queue, and m starts
		// the next one.
		if err := s.flushLocked(sess); err != nil {
			return err
		}
	}
	sess.held = append(sess.held, m)
	sess.heldBytes += len(m)
	sess.backlog++
	return nil
}

// flushLocked hands what sess holds to its sender: one message alone, or
// more as a bundle.
func (s *Server) flushLocked(sess *session) error {
	body, n := sess.held[0], len(sess.held)
	if n > 1 {
		// The bundle is sealed into a datagram of its own at once, so its
		// plaintext is scratch, pooled rather than kept by each session:
		// an idle session stays small.
		buf, _ := s.bundles.Get().(*[]byte)
		if buf == nil {
			buf = new([]byte)
		}
		defer s.bundles.Put(buf)
		b := (*buf)[:0]
		for _, m := range sess.held {
			b = sess.bundler.AppendBundled(b, m)
		}
		*buf, body = b, b
	}
	clear(sess.held) // the encodings belong to their messages
	sess.held, sess.heldBytes = sess.held[:0], 0
	if cap(sess.held) > 4 {
		sess.held = nil // a long burst's list, not kept for an idle session
	}
	if err := s.pushLocked(sess, body, n); err != nil {
		sess.backlog -= n
		return err
	}
	if n > 1 {
		s.bundled.Add(1)
	}
	return nil
}

// pushLocked gives the plaintext body, which holds n messages, to sess's
// sender. The ref is n, so that the acknowledgement says how many messages
// it delivered; Go boxes an int under 256 without allocating, so only a
// bundle of the full MaxBundle costs an allocation here.
func (s *Server) pushLocked(sess *session, body []byte, n int) error {
	sess.body = body
	_, err := sess.snd.Push(sess.build, n)
	sess.body = nil
	return err
}

// ackedLocked takes the messages an ACK delivered off sess's backlog.
func (s *Server) ackedLocked(sess *session, refs []any) {
	for _, r := range refs {
		if n, ok := r.(int); ok {
			sess.backlog -= n
		}
	}
}
