package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/udpchat/udpchat/core"
)

var _ core.Room = (*Server)(nil)

// Post implements Room.
func (s *Server) Post(_ context.Context, m *core.Message) error {
	if m.From == "" || m.Kind == core.KindHistory {
		return fmt.Errorf("core: post: need a sender, and a kind other than history")
	}
	c := *m
	c.ID, c.Time, c.Origin = 0, s.cfg.Now(), 0
	if c.To != "" && c.Kind != core.KindPrivate {
		c.Kind = core.KindPrivate
	}
	if err := s.deliver(context.Background(), &c); err != nil {
		if reason, ok := core.RejectionReason(err); ok {
			return fmt.Errorf("core: post: %s", reason)
		}
		return err
	}
	return nil
}

// Users implements Room: who is in the lobby, which is everyone, the bots
// included.
func (s *Server) Users() []core.User { return s.members(s.lobby) }

// members lists who is in r, by name: the bots are in the lobby.
func (s *Server) members(r *room) []core.User {
	now := s.cfg.Now()
	var us []core.User
	for _, sess := range s.sessions.all(0) {
		if !sess.confirmed.Load() {
			continue
		}
		sess.mu.Lock()
		if sess.inLocked(r) {
			us = append(us, core.User{Name: sess.name, Version: sess.version, Idle: now.Sub(time.Unix(0, sess.lastSeen.Load()))})
		}
		sess.mu.Unlock()
	}
	if r == s.lobby {
		us = append(us, s.botUsers()...)
	}
	slices.SortFunc(us, func(a, b core.User) int { return strings.Compare(core.FoldName(a.Name), core.FoldName(b.Name)) })
	return us
}

// observe tells every observer of e.
func (s *Server) observe(ctx context.Context, e core.RoomEvent) {
	if e.Kind == core.EventRename {
		// A name taken by /nick is registered on first use as one
		// taken at the handshake is (claimNick).
		if sess := s.sessions.nick(e.NewName); sess != nil {
			s.autoRegister(sess, e.NewName)
		}
	}
	e.Time = s.cfg.Now()
	for _, o := range s.live.Load().observers {
		o.RoomEvent(ctx, e)
	}
}
