package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/termsafe"
)

// bots are the members and commands the observers bring (core.BotSource),
// gathered in New and again by Reload, read-only in between: a plugin that
// registers other bots after a restart does not change them until then.
type bots struct {
	members map[string]core.Bot // by FoldName
	owner   map[string]string   // a member's or command's source, for errors
	cmds    []core.BotCommand   // in the order the sources gave them, for /help
}

// gatherBots collects the bots and commands of the observers that are
// BotSources. A bot must be a nickname nobody else may hold (a source's
// own name excepted: a plugin speaks as itself), a command a name no
// built-in command or other source has; a clash is an error in one line
// that names both sides.
func (s *Server) gatherBots(l *live, observers []core.RoomObserver) error {
	l.bots = bots{members: map[string]core.Bot{}, owner: map[string]string{}}
	for _, o := range observers {
		src, ok := o.(core.BotSource)
		if !ok {
			continue
		}
		set := src.Bots()
		for _, b := range set.Members {
			k := core.FoldName(b.Name)
			if other, ok := l.bots.owner[k]; ok {
				return fmt.Errorf("server: bot %q is registered by both %s and %s", b.Name, other, set.Owner)
			}
			err := core.CheckNick(b.Name)
			if err == nil && k != core.FoldName(set.Owner) {
				err = s.checkNameIn(l, b.Name)
			}
			if err != nil {
				return fmt.Errorf("server: bot %q of %s: %w", b.Name, set.Owner, err)
			}
			l.bots.owner[k] = set.Owner
			l.bots.members[k] = b
		}
		for _, c := range set.Commands {
			if err := checkCommandName(c.Name); err != nil {
				return fmt.Errorf("server: command %q of %s: %w", c.Name, set.Owner, err)
			}
			if err := checkUsage(c.Usage); err != nil {
				return fmt.Errorf("server: command %s of %s: usage: %w", c.Name, set.Owner, err)
			}
			if builtin(c.Name) != nil {
				return fmt.Errorf("server: command %s of %s: a built-in command cannot be replaced", c.Name, set.Owner)
			}
			k := strings.ToLower(c.Name)
			if other, ok := l.bots.owner[k]; ok {
				return fmt.Errorf("server: command %s is registered by both %s and %s", c.Name, other, set.Owner)
			}
			l.bots.owner[k] = set.Owner
			c.Usage = cmp.Or(c.Usage, c.Name)
			l.bots.cmds = append(l.bots.cmds, c)
		}
	}
	return nil
}

// checkCommandName says why name cannot be a command: "/" and then what a
// nickname may be, so that it reads as one word and fits /help.
func checkCommandName(name string) error {
	rest, ok := strings.CutPrefix(name, "/")
	if !ok {
		return errors.New("a command starts with /")
	}
	if err := core.CheckNick(rest); err != nil {
		return fmt.Errorf("a command is / and a word as a nickname is: %w", err)
	}
	return nil
}

// maxUsage bounds a command's usage line, so that /help, which lists them
// all in one notice, stays readable (a notice too long is cut short).
const maxUsage = 100

// checkUsage says why usage cannot be a line of /help, which every user's
// terminal shows as it is.
func checkUsage(usage string) error {
	if why := termsafe.Refusal(usage); why != "" {
		return errors.New(strings.TrimPrefix(why, "message "))
	}
	if len(usage) > maxUsage {
		return fmt.Errorf("at most %d bytes, got %d", maxUsage, len(usage))
	}
	return nil
}

// bot returns the bot named name, if there is one.
func (s *Server) bot(name string) (core.Bot, bool) {
	return s.live.Load().bot(name)
}

// bot returns l's bot named name, if there is one.
func (l *live) bot(name string) (core.Bot, bool) {
	b, ok := l.bots.members[core.FoldName(name)]
	return b, ok
}

// botCommand returns the sources' command named name, if there is one: the
// lookup after the built-in table's.
func (s *Server) botCommand(name string) (core.BotCommand, bool) {
	for _, c := range s.live.Load().bots.cmds {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return core.BotCommand{}, false
}

// runBotCommand runs c for sess's user. Whatever goes wrong in the source
// (a plugin that crashed, timed out, or answered nonsense) is logged and
// told to the user as the command's failure; the session and the room go on.
func (s *Server) runBotCommand(ctx context.Context, sess *session, c core.BotCommand, arg string) error {
	sess.mu.Lock()
	from := sess.name
	sess.mu.Unlock()
	err := c.Run(ctx, from, arg)
	if _, refused := core.RejectionReason(err); err == nil || refused {
		return err
	}
	owner := s.live.Load().bots.owner[strings.ToLower(c.Name)]
	s.log.Warn("bot command failed", "command", c.Name, "owner", owner, "from", from, "err", err)
	return &core.Rejection{Reason: fmt.Sprintf("%s failed: %s is not answering; try again later", c.Name, owner)}
}

// mailBot hands m, a private message to the bot b, to b's handler instead
// of the room.
func (s *Server) mailBot(ctx context.Context, b core.Bot, m *core.Message) error {
	if b.Mail == nil {
		return &core.Rejection{Reason: b.Name + " takes no private messages"}
	}
	err := b.Mail.HandleMessage(ctx, m)
	if _, refused := core.RejectionReason(err); err == nil || refused {
		return err
	}
	s.log.Warn("bot mail failed", "bot", b.Name, "owner", s.live.Load().bots.owner[core.FoldName(b.Name)], "from", m.From, "err", err)
	return &core.Rejection{Reason: fmt.Sprintf("%s is not answering; try again later", b.Name)}
}

// botUsers lists the bots as users, for /who and the plugins' Users.
func (s *Server) botUsers() []core.User {
	us := make([]core.User, 0, len(s.live.Load().bots.members))
	for _, b := range s.live.Load().bots.members {
		us = append(us, core.User{Name: b.Name, Bot: true})
	}
	return us
}
