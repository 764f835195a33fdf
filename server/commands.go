package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/udpchat/udpchat/core"
)

// A command is what a line starting with "/" asks the server for. run gets
// the sender's session, the message and the text after the command's name;
// a command that stands for a message (/me, /msg) rewrites m and passes it
// on through next, the handlers after the commands; any other answers the
// sender itself. Adding a command is adding a row to commands.
type command struct {
	name, usage string
	run         func(s *Server, ctx context.Context, sess *session, m *core.Message, arg string, next core.Handler) error
}

// commands are the commands the server understands in message text, so
// that seed clients can use them too; /help lists them in this order.
var commands []command

func init() {
	// Set in init: /help's run reads the table it is in.
	commands = []command{
		{"/nick", "/nick NAME: change your nickname", (*Server).runNick},
		{"/who", "/who: list who is in your channel, and how long each has been idle", (*Server).runWho},
		{"/join", "/join #CHANNEL: join a channel (made if new) and talk there; /join #lobby talks in the lobby again", (*Server).runJoin},
		{"/part", "/part [#CHANNEL]: leave a channel, yours if none is named", (*Server).runPart},
		{"/list", "/list: the channels, with how many are in each and their topics", (*Server).runList},
		{"/topic", "/topic [TEXT]: show or set your channel's topic", (*Server).runTopic},
		{"/ignore", "/ignore [NAME]: stop being sent NAME's messages (none: list whom you ignore)", (*Server).runIgnore},
		{"/unignore", "/unignore NAME: be sent NAME's messages again", (*Server).runUnignore},
		{"/away", "/away [MESSAGE]: say you are away, told to whoever writes to you; none: you are back", (*Server).runAway},
		{"/op", "/op NAME: (channel operators) make NAME an operator of your channel", (*Server).runOp},
		{"/deop", "/deop NAME: (channel operators) take NAME's operator rights in your channel", (*Server).runDeop},
		{"/kick", "/kick NAME [REASON]: (channel operators) put NAME out of your channel; out of the lobby is off the server", (*Server).runKick},
		{"/mute", "/mute NAME [DURATION]: (channel operators) silence NAME in your channel, for a while (10m, 2h) or until /unmute", (*Server).runMute},
		{"/unmute", "/unmute NAME: (channel operators) let NAME speak again", (*Server).runUnmute},
		{"/ban", "/ban NAME|key:FINGERPRINT|ip:ADDRESS|nick:NAME [DURATION] [REASON]: (the server's operators) keep someone off the server, for a while (1h) or until /unban", (*Server).runBan},
		{"/unban", "/unban NAME|key:FINGERPRINT|ip:ADDRESS|nick:NAME: (the server's operators) lift a ban", (*Server).runUnban},
		{"/bans", "/bans: (the server's operators) list the bans", (*Server).runBans},
		{"/topiclock", "/topiclock on|off: (channel operators) let only operators set the topic", (*Server).runTopicLock},
		{"/msg", "/msg NAME TEXT: a private message to NAME only", (*Server).runMsg},
		{"/me", "/me ACTION: an action, shown as * you ACTION", (*Server).runMe},
		{"/register", "/register: register your nickname to your client key", (*Server).runRegister},
		{"/unregister", "/unregister [NAME]: free a nickname registered to your key", (*Server).runUnregister},
		{"/whois", "/whois NAME: NAME's key, idle time and protocol", (*Server).runWhois},
		{"/help", "/help: this list", (*Server).runHelp},
	}
}

// CommandNames lists the commands, for a client's tab completion.
func CommandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

// maxWho bounds the names /who lists in one reply, which must fit in a datagram.
const maxWho = 50

// commands is the handler that runs the commands, after the input checks
// and the rate limit: a command turned into a message (/me, /msg) goes on
// to the handlers after it. "//text" sends "/text" as it is.
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
		name, arg, _ := strings.Cut(m.Text, " ")
		arg = strings.TrimSpace(arg)
		if c := builtin(name); c != nil {
			return c.run(s, ctx, sess, m, arg, next)
		}
		if c, ok := s.botCommand(name); ok {
			return s.runBotCommand(ctx, sess, c, arg)
		}
		return &core.Rejection{Reason: fmt.Sprintf("unknown command %s (/help lists them)", name)}
	})
}

// builtin returns the built-in command named name, or nil.
func builtin(name string) *command {
	for i := range commands {
		if strings.EqualFold(commands[i].name, name) {
			return &commands[i]
		}
	}
	return nil
}

func (s *Server) runMe(ctx context.Context, _ *session, m *core.Message, arg string, next core.Handler) error {
	if arg == "" {
		return &core.Rejection{Reason: "usage: /me ACTION"}
	}
	m.Kind, m.Text = core.KindAction, arg
	return next.HandleMessage(ctx, m)
}

func (s *Server) runMsg(ctx context.Context, sess *session, m *core.Message, arg string, next core.Handler) error {
	to, text, _ := strings.Cut(arg, " ")
	if to == "" || strings.TrimSpace(text) == "" {
		return &core.Rejection{Reason: "usage: /msg NAME TEXT"}
	}
	if b, ok := s.bot(to); ok {
		m.Kind, m.To, m.Text, m.Room = core.KindPrivate, b.Name, text, ""
		return s.mailBot(ctx, b, m)
	}
	m.To = to // a user of another server, if not of this one
	switch target := s.sessions.nick(to); {
	case target != nil:
		target.mu.Lock()
		name, away := target.name, target.away
		target.mu.Unlock()
		m.To = name
		if away != "" {
			s.notify(sess, core.KindSystem, fmt.Sprintf("%s is away: %s", name, away))
		}
	case s.dir == nil:
		return noSuchUser(to)
	}
	m.Kind, m.Text, m.Room = core.KindPrivate, text, ""
	return next.HandleMessage(ctx, m)
}

func (s *Server) runNick(ctx context.Context, sess *session, _ *core.Message, arg string, _ core.Handler) error {
	return s.rename(ctx, sess, arg)
}

func (s *Server) runWho(ctx context.Context, sess *session, m *core.Message, _ string, _ core.Handler) error {
	s.notify(sess, core.KindSystem, s.who(ctx, s.roomOf(m)))
	return nil
}

func (s *Server) runRegister(_ context.Context, sess *session, _ *core.Message, arg string, _ core.Handler) error {
	return s.register(sess, arg)
}

func (s *Server) runUnregister(_ context.Context, sess *session, _ *core.Message, arg string, _ core.Handler) error {
	return s.unregister(sess, arg)
}

func (s *Server) runWhois(_ context.Context, sess *session, _ *core.Message, arg string, _ core.Handler) error {
	text, err := s.whois(arg)
	if err != nil {
		return err
	}
	s.notify(sess, core.KindSystem, text)
	return nil
}

func (s *Server) runHelp(_ context.Context, sess *session, _ *core.Message, _ string, _ core.Handler) error {
	var b strings.Builder
	b.WriteString("commands:")
	for _, c := range commands {
		b.WriteString(" " + c.usage + ";")
	}
	for _, c := range s.live.Load().bots.cmds {
		b.WriteString(" " + c.Usage + ";")
	}
	b.WriteString(" //text sends /text")
	s.notify(sess, core.KindSystem, b.String())
	return nil
}

// rename gives sess the nickname to, and tells the room. With a
// directory, the name is claimed there first, and the old one released
// once the session no longer has it.
func (s *Server) rename(ctx context.Context, sess *session, to string) error {
	if err := s.checkName(to); err != nil {
		return &core.Rejection{Reason: err.Error()}
	}
	taken := &core.Rejection{Reason: fmt.Sprintf("nickname %q is taken", to)}
	if !s.claimShared(ctx, sess, to) {
		return taken
	}
	sess.mu.Lock()
	from := sess.name
	if !s.sessions.rename(sess, from, to) {
		sess.mu.Unlock()
		if core.FoldName(from) != core.FoldName(to) {
			s.releaseShared(ctx, to, sess.id)
		}
		return taken
	}
	sess.name = to
	sess.mu.Unlock()
	if core.FoldName(from) != core.FoldName(to) {
		s.releaseShared(ctx, from, sess.id)
	}
	s.log.Info("renamed", "from", from, "to", to)
	s.announce(ctx, s.lobby, from+" is now known as "+to, 0)
	s.observe(ctx, core.RoomEvent{Kind: core.EventRename, Name: from, NewName: to})
	return nil
}

// who describes r: everyone's name and idle time, and in the lobby, with
// a directory, the users of the other servers, whose idle time only their
// server knows.
func (s *Server) who(ctx context.Context, r *room) string {
	users, total, elsewhere := s.members(r), 0, map[string]bool(nil)
	if r == s.lobby {
		users, total, elsewhere = s.usersElsewhere(ctx, users, maxWho)
	} else {
		total = len(users)
	}
	slices.SortFunc(users, func(a, b core.User) int { return strings.Compare(core.FoldName(a.Name), core.FoldName(b.Name)) })
	var b strings.Builder
	if r == s.lobby {
		fmt.Fprintf(&b, "%d here:", total)
	} else {
		fmt.Fprintf(&b, "%d in %s:", total, r.label())
	}
	for i, u := range users {
		if i == maxWho {
			break
		}
		if elsewhere[core.FoldName(u.Name)] {
			fmt.Fprintf(&b, " %s (on another server)", u.Name)
			continue
		}
		if u.Bot {
			fmt.Fprintf(&b, " %s (bot)", u.Name)
			continue
		}
		fmt.Fprintf(&b, " %s (idle %s)", u.Name, max(u.Idle.Truncate(time.Second), 0))
	}
	if total > maxWho {
		fmt.Fprintf(&b, " and %d more", total-min(len(users), maxWho))
	}
	return b.String()
}
