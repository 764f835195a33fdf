package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/udpchat/udpchat/core"
)

// What the operator of the machine asks of a running server, without
// joining the chat (udpchat-server admin, over a local socket).

// SessionInfo describes a session for the operator of the machine.
type SessionInfo struct {
	Name     string
	Addr     string
	Version  uint8
	Key      string // the client key's short fingerprint, "" without one
	Idle     time.Duration
	Channels []string // the channels it is in, the lobby first
}

// Sessions lists the confirmed sessions, by name.
func (s *Server) Sessions() []SessionInfo {
	now := s.cfg.Now()
	var out []SessionInfo
	for _, sess := range s.sessions.all(0) {
		if !sess.confirmed.Load() {
			continue
		}
		sess.mu.Lock()
		info := SessionInfo{Name: sess.name, Addr: sess.addr.String(), Version: sess.version,
			Key: sess.shortKeyLocked(), Idle: now.Sub(time.Unix(0, sess.lastSeen.Load())),
			Channels: []string{core.Lobby}}
		for _, c := range sess.chans {
			info.Channels = append(info.Channels, c.r.label())
		}
		ended := sess.ended
		sess.mu.Unlock()
		if !ended {
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return strings.Compare(core.FoldName(a.Name), core.FoldName(b.Name)) })
	return out
}

// ErrNoSession is the error of an operation on a session that is not there.
var ErrNoSession = errors.New("server: no such session")

// Kick ends the session named name, telling its client why, and the lobby
// that it was kicked, as /kick in the lobby does.
func (s *Server) Kick(ctx context.Context, name, reason string) error {
	target := s.sessions.nick(name)
	if target == nil || !target.confirmed.Load() {
		return fmt.Errorf("%w: %q", ErrNoSession, name)
	}
	if err := checkTopic(reason); err != nil {
		return fmt.Errorf("server: a reason %s", strings.TrimPrefix(err.Error(), "a topic "))
	}
	name = target.displayName()
	what := "the server's operator kicked " + name
	told := "the server's operator kicked you"
	if reason != "" {
		what, told = what+": "+reason, told+": "+reason
	}
	s.log.Info("moderation", "action", "kick", "by", "admin", "target", name, "channel", core.Lobby)
	s.announce(ctx, s.lobby, what, target.id)
	s.dismiss(ctx, target, "kicked", told)
	return nil
}
