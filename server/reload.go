package server

import (
	"context"
	"fmt"
	"slices"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
)

// Live is the part of a server's configuration that Reload changes while
// it runs: what an operator changes without turning everyone out. The
// fields are Config's of the same names.
type Live struct {
	Handlers       []core.Middleware
	Observers      []core.RoomObserver
	Reserved       []string
	RateLimit      RateLimit
	HandshakeLimit RateLimit
	MOTD           string
	Operators      []string
}

// live returns cfg's Live.
func (cfg *Config) live() Live {
	return Live{
		Handlers:       cfg.Handlers,
		Observers:      cfg.Observers,
		Reserved:       cfg.Reserved,
		RateLimit:      cfg.RateLimit,
		HandshakeLimit: cfg.HandshakeLimit,
		MOTD:           cfg.MOTD,
		Operators:      cfg.Operators,
	}
}

// live is a Live as the server uses it: read with one atomic load where it
// is needed, and replaced whole, never changed, so that a message sees
// one configuration from the chain's first handler to its last.
type live struct {
	chain     core.Handler
	observers []core.RoomObserver
	bots      bots
	reserved  []string
	rate      RateLimit
	handshake RateLimit
	motd      string
	operators map[string]bool // by fingerprint
}

// newLive checks l and makes it ready for use.
func (s *Server) newLive(l Live) (*live, error) {
	if err := l.HandshakeLimit.check("handshake limit"); err != nil {
		return nil, err
	}
	if err := l.RateLimit.check("rate limit"); err != nil {
		return nil, err
	}
	operators := make(map[string]bool, len(l.Operators))
	for i, fp := range l.Operators {
		if err := identity.CheckFingerprint(fp); err != nil {
			return nil, fmt.Errorf("server: operators[%d]: %w", i, err)
		}
		operators[fp] = true
	}
	n := &live{
		observers: slices.Clone(l.Observers),
		reserved:  slices.Clone(l.Reserved),
		rate:      l.RateLimit,
		handshake: l.HandshakeLimit,
		motd:      l.MOTD,
		operators: operators,
	}
	if err := s.gatherBots(n, n.observers); err != nil {
		return nil, err
	}
	// Input checks come first, so that no command or plugin spends work on
	// what will be refused. The rate limit is not in the chain: it decides
	// when a message reaches it (admit).
	first := []core.Middleware{checkText, s.commands}
	n.chain = core.Chain(core.HandlerFunc(s.deliver), append(first, l.Handlers...)...)
	return n, nil
}

// Reload replaces the server's Live configuration, or, if l is not one the
// server can run with (a bad limit, an operator's fingerprint, a clash of
// bots), returns why and keeps the one it has. Messages already in the
// handler chain finish in the one they started in.
//
// A new rate limit applies at once to every session with one; a session
// that started while the limit was off keeps going unlimited until it
// reconnects, since its messages take a path with no queue to hold them.
func (s *Server) Reload(l Live) error {
	n, err := s.newLive(l)
	if err != nil {
		return err
	}
	old := s.live.Swap(n)
	if n.rate != old.rate {
		for _, sess := range s.sessions.all(0) {
			if sess.limiter != nil {
				// The limiter is safe for concurrent use; what waits in
				// the session's queue is released at the new rate.
				sess.limiter.SetLimit(n.rate.limit())
				sess.limiter.SetBurst(n.rate.Burst)
			}
		}
	}
	return nil
}

// ReloadBans reads the ban list again from its file, as an operator who
// edited it asks, and turns out the sessions a new ban holds against, each
// told why. A file that is not a ban list changes nothing.
func (s *Server) ReloadBans(ctx context.Context) (int, error) {
	n, err := s.bans.reload()
	if err != nil {
		return 0, err
	}
	s.dismissBanned(ctx, "")
	return n, nil
}
