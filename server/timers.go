package server

import (
	"context"
	"time"
)

// timers drives retransmissions, the release of messages delayed by the
// rate limit, and idle eviction until ctx is done.
func (s *Server) timers(ctx context.Context) {
	t := time.NewTicker(serverTick)
	defer t.Stop()
	lastEvict := s.cfg.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := s.cfg.Now()
		s.pendingMu.Lock()
		due := make([]*session, 0, len(s.pending))
		for sess := range s.pending {
			due = append(due, sess)
		}
		s.pendingMu.Unlock()
		// A session stays on the list while its sender holds anything,
		// which for a silent client is until its idle timeout (senders
		// persist), but its sender is polled only once sndNext, at most
		// a RetransmitCap away, is due.
		for _, sess := range due {
			sess.mu.Lock()
			dead := !sess.sndNext.IsZero() && !now.Before(sess.sndNext) && s.pollLocked(sess, now, nil)
			if sess.sndNext.IsZero() && sess.onTimer {
				sess.onTimer = false
				s.pendingMu.Lock()
				delete(s.pending, sess)
				s.pendingMu.Unlock()
			}
			sess.mu.Unlock()
			if dead {
				s.endSession(ctx, sess, "timed out")
			}
		}
		s.releaseDue(now)
		s.flushPresence(ctx, now, false)
		if now.Sub(lastEvict) >= time.Second/4 {
			lastEvict = now
			s.evictIdle(ctx, now)
		}
	}
}

// evictIdle ends sessions that have been silent too long, so that presence
// is right and the server does not send to every address that ever joined,
// as the seed does.
func (s *Server) evictIdle(ctx context.Context, now time.Time) {
	for _, sess := range s.sessions.all(0) {
		timeout := s.cfg.IdleTimeout
		if sess.version < 2 {
			timeout = s.cfg.V1IdleTimeout
		}
		if timeout > 0 && now.Sub(time.Unix(0, sess.lastSeen.Load())) > timeout {
			s.endSession(ctx, sess, "timed out")
		}
	}
}
