package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/udpchat/udpchat/core"
)

// The channel commands: /join, /part, /list, /topic. They run on the
// handler worker, like every command, so a session's channels change in
// the order of its messages.

// maxTopic bounds a channel's topic, in bytes: it is shown in /list and on
// every join, each of which must fit in a datagram.
const maxTopic = 200

// maxList bounds the channels /list names in one reply.
const maxList = 30

// placeMessage puts m, a message of sess's, in its channel: the one it
// names, which sess must be in, or sess's current one. A private message
// belongs to none.
func (s *Server) placeMessage(sess *session, m *core.Message) error {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if m.Kind == core.KindPrivate {
		m.Room = ""
		return nil
	}
	switch m.Room {
	case "":
		m.Room = sess.currentLocked().channel
		return nil
	case core.Lobby:
		m.Room = "" // named: the lobby, whatever is current
		return nil
	}
	if r := s.room(m.Room); r == nil || !sess.inLocked(r) {
		return &core.Rejection{Reason: fmt.Sprintf("you are not in %s (/join %s)", m.Room, m.Room)}
	}
	return nil
}

// roomOf is the channel of m, a message placeMessage placed: a command
// acts on the channel it was said in.
func (s *Server) roomOf(m *core.Message) *room {
	if r := s.room(m.Room); r != nil && m.Room != "" {
		return r
	}
	return s.lobby
}

func (s *Server) runJoin(ctx context.Context, sess *session, _ *core.Message, arg string, _ core.Handler) error {
	if arg == "" || strings.ContainsRune(arg, ' ') {
		return &core.Rejection{Reason: "usage: /join #CHANNEL"}
	}
	ch, err := core.ParseChannel(arg)
	if err != nil {
		return &core.Rejection{Reason: err.Error()}
	}
	if ch == core.Lobby {
		sess.mu.Lock()
		sess.current = nil
		sess.mu.Unlock()
		s.notify(sess, core.KindSystem, "you are talking in "+core.Lobby)
		return nil
	}
	sess.mu.Lock()
	n := len(sess.chans)
	sess.mu.Unlock()
	if n >= maxJoined && s.room(ch) == nil {
		return &core.Rejection{Reason: fmt.Sprintf("you are in %d channels already: /part one first", n)}
	}
	r, err := s.openChannel(ctx, ch)
	if err == errTooManyChannels {
		return &core.Rejection{Reason: fmt.Sprintf("cannot open %s: this server has %d channels open, its most", ch, s.cfg.MaxChannels)}
	}
	if err != nil {
		return err
	}
	joined, err := s.enter(ctx, sess, r)
	if err != nil {
		return err
	}
	topic, _ := s.topicOf(r)
	intro := "you are talking in " + ch
	if joined {
		intro = "you joined " + ch
	}
	if topic != "" {
		intro += " (topic: " + topic + ")"
	}
	s.notifyIn(sess, r, core.KindSystem, intro+"; "+s.who(ctx, r))
	if joined {
		s.announce(ctx, r, sess.displayName()+" joined "+ch, sess.id)
	}
	return nil
}

// enter puts sess in r, as its current channel, and reports whether it
// was not in r before. A version 2 session's cursor starts with r's last
// History chat messages, as a newcomer's to the lobby does.
func (s *Server) enter(ctx context.Context, sess *session, r *room) (bool, error) {
	sess.mu.Lock()
	in := sess.inLocked(r)
	sess.mu.Unlock()
	var c *cursor
	if !in {
		epoch, head := r.epoch.Load(), r.head.Load()
		next := head
		if sess.version >= 2 {
			next = s.historyStart(ctx, r, core.LogBounds{Epoch: epoch, First: 1, Next: head})
		}
		c = &cursor{r: r, next: max(next, 1), epoch: epoch, liveFrom: head, acked: max(next, 1)}
	}
	sess.mu.Lock()
	switch {
	case sess.ended:
		sess.mu.Unlock()
		return false, nil
	case c != nil && !sess.inLocked(r):
		if len(sess.chans) >= maxJoined {
			sess.mu.Unlock()
			return false, &core.Rejection{Reason: fmt.Sprintf("you are in %d channels already: /part one first", len(sess.chans))}
		}
		sess.chans = append(sess.chans, c)
		if r.members.Add(1) == 1 {
			// Whoever opens a channel nobody runs is its operator.
			who := sess.whoLocked()
			s.rooms.mu.Lock()
			if len(r.ops) == 0 {
				r.ops = map[string]bool{who: true}
			}
			s.rooms.mu.Unlock()
		}
	default:
		c = nil
	}
	sess.current = r
	sess.mu.Unlock()
	if c != nil && sess.version >= 2 {
		s.fill(ctx, sess, nil) // its history
	}
	return c != nil, nil
}

func (s *Server) runPart(ctx context.Context, sess *session, m *core.Message, arg string, _ core.Handler) error {
	r := s.roomOf(m)
	if arg != "" {
		ch, err := core.ParseChannel(arg)
		if err != nil {
			return &core.Rejection{Reason: err.Error()}
		}
		if r = s.room(ch); r == nil {
			return &core.Rejection{Reason: "you are not in " + ch}
		}
	}
	if r == s.lobby {
		return &core.Rejection{Reason: "everyone stays in " + core.Lobby + ": /part leaves the other channels"}
	}
	if !s.leave(sess, r) {
		return &core.Rejection{Reason: "you are not in " + r.label()}
	}
	sess.mu.Lock()
	current := sess.currentLocked().label()
	sess.mu.Unlock()
	s.notify(sess, core.KindSystem, "you left "+r.label()+"; you are talking in "+current)
	s.announce(ctx, r, sess.displayName()+" left "+r.label(), sess.id)
	return nil
}

// leave takes sess out of r, a channel other than the lobby, and reports
// whether it was in it.
func (s *Server) leave(sess *session, r *room) bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	i := slices.IndexFunc(sess.chans, func(c *cursor) bool { return c.r == r })
	if i < 0 {
		return false
	}
	sess.chans = slices.Delete(sess.chans, i, i+1)
	if sess.current == r {
		sess.current = nil
	}
	r.members.Add(-1)
	return true
}

// leaveAll takes sess out of its channels as it ends.
func (s *Server) leaveAll(sess *session) {
	sess.mu.Lock()
	chans := sess.chans
	sess.chans, sess.current = nil, nil
	sess.mu.Unlock()
	for _, c := range chans {
		c.r.members.Add(-1)
	}
}

func (s *Server) runList(_ context.Context, sess *session, _ *core.Message, _ string, _ core.Handler) error {
	rooms := s.channels()
	slices.SortFunc(rooms[1:], func(a, b *room) int { return strings.Compare(a.channel, b.channel) })
	items := make([]string, len(rooms))
	for i, r := range rooms {
		n := int(r.members.Load())
		if r == s.lobby {
			n = len(s.Users())
		}
		items[i] = fmt.Sprintf("%s (%d)", r.label(), n)
		if topic, _ := s.topicOf(r); topic != "" {
			items[i] += fmt.Sprintf(" %q", topic)
		}
	}
	s.notify(sess, core.KindSystem, listing("channel", items))
	return nil
}

func (s *Server) runTopic(ctx context.Context, sess *session, m *core.Message, arg string, _ core.Handler) error {
	r := s.roomOf(m)
	if arg == "" {
		topic, by := s.topicOf(r)
		if topic == "" {
			s.notify(sess, core.KindSystem, r.label()+" has no topic")
		} else {
			s.notify(sess, core.KindSystem, fmt.Sprintf("the topic of %s: %s (set by %s)", r.label(), topic, by))
		}
		return nil
	}
	if err := checkTopic(arg); err != nil {
		return &core.Rejection{Reason: err.Error()}
	}
	if why := s.muted(r, sess); why != "" {
		return &core.Rejection{Reason: why} // a topic is said to the whole channel
	}
	sess.mu.Lock()
	name, who := sess.name, sess.whoLocked()
	sess.mu.Unlock()
	s.rooms.mu.Lock()
	if r.topicLocked && !s.chanOpLocked(r, sess, who) {
		s.rooms.mu.Unlock()
		return &core.Rejection{Reason: "the topic of " + r.label() + " is locked: only its operators set it"}
	}
	r.topic, r.topicBy, r.topicAt = arg, name, s.cfg.Now()
	s.rooms.mu.Unlock()
	s.log.Info("topic set", "channel", r.label(), "by", name)
	s.announce(ctx, r, fmt.Sprintf("%s set the topic of %s: %s", name, r.label(), arg), 0)
	return nil
}

// listing is a notice listing items, "N nouns: a; b" and at most maxList
// of them, which must fit in a datagram.
func listing(noun string, items []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s%s:", len(items), noun, plural(len(items)))
	for i, item := range items {
		if i == maxList {
			fmt.Fprintf(&b, " and %d more", len(items)-maxList)
			break
		}
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(" " + item)
	}
	return b.String()
}

// checkTopic says why text cannot be a topic: it is shown on one line of
// every member's screen, so it has no control characters.
func checkTopic(text string) error {
	if len(text) > maxTopic {
		return fmt.Errorf("a topic has at most %d bytes, this one %d", maxTopic, len(text))
	}
	if !utf8.ValidString(text) || strings.IndexFunc(text, unicode.IsControl) >= 0 {
		return fmt.Errorf("a topic is one line of text, without control characters")
	}
	return nil
}

// topicOf is r's topic and who set it.
func (s *Server) topicOf(r *room) (topic, by string) {
	s.rooms.mu.Lock()
	defer s.rooms.mu.Unlock()
	return r.topic, r.topicBy
}

// displayName is sess's name as the room knows it.
func (sess *session) displayName() string {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.name
}
