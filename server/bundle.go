package server

import (
	"fmt"

	"github.com/udpchat/udpchat/core"
)

// flushLocked hands what gatherLocked put in sess.held to its sender: one
// message alone, or more as a bundle, with ref for the Sender to hand back
// once it is acknowledged (chanMark). sess.held is emptied either way.
func (s *Server) flushLocked(sess *session, ref any) error {
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
	sess.held = sess.held[:0]
	sess.body = body
	_, err := sess.snd.Push(sess.build, ref)
	sess.body = nil
	if err != nil {
		return err
	}
	if n > 1 {
		s.bundled.Add(1)
	}
	return nil
}

// queueDirectLocked queues m, a message for sess alone (a private message,
// a notice), to go before the room's next entries. It refuses with
// ErrQueueFull when server.recipient_queue of them already wait: one
// sender's private messages to a client that does not read them must not
// grow the server without bound. enc, if not nil, holds m's encodings.
func (s *Server) queueDirectLocked(sess *session, m *core.Message, enc *encodings) error {
	if len(sess.direct) >= s.cfg.RecipientQueue {
		return fmt.Errorf("%d messages waiting for %s: %w", len(sess.direct), sess.name, core.ErrQueueFull)
	}
	b, ok := []byte(nil), false
	if enc != nil {
		b, ok = enc.get(sess.codec.Name()) // made by fit: not encoded again
	}
	if !ok {
		b, ok = s.encodeFor(sess, m)
	}
	if !ok {
		return fmt.Errorf("server: cannot encode a message for %s", sess.name)
	}
	sess.direct = append(sess.direct, b)
	return nil
}

// noticeLocked queues the server's notice text for sess alone.
func (s *Server) noticeLocked(sess *session, text string) {
	m := &core.Message{Kind: core.KindSystem, From: core.SystemSender, Text: text, Time: s.cfg.Now()}
	if err := s.queueDirectLocked(sess, m, nil); err != nil {
		s.log.Warn("notice not queued", "to", sess.name, "err", err)
	}
}
