package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Commands the server understands in message text, so that seed clients can
// use them too.
var commandHelp = []struct{ name, usage string }{
	{"/nick", "/nick NAME: change your nickname"},
	{"/who", "/who: list who is here, and how long each has been idle"},
	{"/msg", "/msg NAME TEXT: a private message to NAME only"},
	{"/me", "/me ACTION: an action, shown as * you ACTION"},
	{"/help", "/help: this list"},
}

// CommandNames lists the commands, for a client's tab completion.
func CommandNames() []string {
	names := make([]string, len(commandHelp))
	for i, c := range commandHelp {
		names[i] = c.name
	}
	return names
}

// maxWho bounds the names /who lists in one reply, which must fit in a datagram.
const maxWho = 50

// commands is the first handler of the chain: it runs the commands and
// turns /me and /msg into the messages they stand for, for the handlers
// after it. "//text" sends "/text" as it is.
func (s *Server) commands(next core.Handler) core.Handler {
	return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
		if m.Kind != core.KindChat || !strings.HasPrefix(m.Text, "/") {
			return next.HandleMessage(ctx, m)
		}
		if strings.HasPrefix(m.Text, "//") {
			m.Text = m.Text[1:]
			return next.HandleMessage(ctx, m)
		}
		sess := s.sessions.id(m.Origin)
		if sess == nil {
			return nil // ended while its message was on its way
		}
		cmd, arg, _ := strings.Cut(m.Text, " ")
		arg = strings.TrimSpace(arg)
		switch cmd {
		case "/me":
			if arg == "" {
				return &core.Rejection{Reason: "usage: /me ACTION"}
			}
			m.Kind, m.Text = core.KindAction, arg
			return next.HandleMessage(ctx, m)
		case "/msg":
			to, text, _ := strings.Cut(arg, " ")
			if to == "" || strings.TrimSpace(text) == "" {
				return &core.Rejection{Reason: "usage: /msg NAME TEXT"}
			}
			target := s.sessions.nick(to)
			if target == nil {
				return &core.Rejection{Reason: "no such user: " + to}
			}
			target.mu.Lock()
			m.To = target.name
			target.mu.Unlock()
			m.Kind, m.Text = core.KindPrivate, text
			return next.HandleMessage(ctx, m)
		case "/nick":
			return s.rename(ctx, sess, arg)
		case "/who":
			s.notify(sess, core.KindSystem, s.who())
			return nil
		case "/help":
			var b strings.Builder
			b.WriteString("commands:")
			for _, c := range commandHelp {
				b.WriteString(" " + c.usage + ";")
			}
			b.WriteString(" //text sends /text")
			s.notify(sess, core.KindSystem, b.String())
			return nil
		}
		return &core.Rejection{Reason: fmt.Sprintf("unknown command %s (/help lists them)", cmd)}
	})
}

// rename gives sess the nickname to, and tells the room.
func (s *Server) rename(ctx context.Context, sess *session, to string) error {
	if err := s.checkName(to); err != nil {
		return &core.Rejection{Reason: err.Error()}
	}
	sess.mu.Lock()
	from := sess.name
	if !s.sessions.rename(sess, from, to) {
		sess.mu.Unlock()
		return &core.Rejection{Reason: fmt.Sprintf("nickname %q is taken", to)}
	}
	sess.name = to
	sess.mu.Unlock()
	s.log.Info("renamed", "from", from, "to", to)
	s.announce(ctx, from+" is now known as "+to, 0)
	s.observe(ctx, core.RoomEvent{Kind: core.EventRename, Name: from, NewName: to})
	return nil
}

// who describes the room: everyone's name and idle time.
func (s *Server) who() string {
	users := s.Users()
	var b strings.Builder
	fmt.Fprintf(&b, "%d here:", len(users))
	for i, u := range users {
		if i == maxWho {
			fmt.Fprintf(&b, " and %d more", len(users)-maxWho)
			break
		}
		fmt.Fprintf(&b, " %s (idle %s)", u.Name, max(u.Idle.Truncate(time.Second), 0))
	}
	return b.String()
}
