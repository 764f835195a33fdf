package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Moderation in a channel, as IRC servers do it: whoever opens a channel is
// its first operator, and the server's operators (isOperator) are
// operators of every channel, the lobby included, which only they
// moderate. A channel's operators may make others operators (/op, /deop),
// remove someone from the channel (/kick), silence someone in it (/mute,
// /unmute, for a while or until undone) and lock its topic (/topiclock).
// Everyone may /ignore someone and say they are /away. Every action is
// logged and announced in its channel.

// maxIgnored bounds the names one session ignores: each is compared with
// the sender of every message it is sent.
const maxIgnored = 64

// maxAway bounds an away message, which /whois and a /msg's sender are told.
const maxAway = 120

// maxMuteFor bounds how long a mute given with a duration lasts.
const maxMuteFor = 365 * 24 * time.Hour

// whoLocked names sess for moderation: the fingerprint of its key, which
// nobody else can present, or, for a client without one, the session:
// an address is shared behind a NAT, so it would give one user's rights
// (or mute) to others. sess.mu is held.
func (sess *session) whoLocked() string {
	if id := sess.keyIDLocked(); id != "" {
		return id
	}
	return fmt.Sprintf("session:%016x", sess.id)
}

// chanOpLocked reports whether sess may moderate r. s.rooms.mu is held.
func (s *Server) chanOpLocked(r *room, sess *session, who string) bool {
	return s.isOperator(sess) || r != s.lobby && r.ops[who]
}

// moderated finds what a moderation command m acts on: the channel it was
// said in, which sess must moderate, and the session named by the first
// word of arg, which must be in it. rest is arg after the name.
func (s *Server) moderated(sess *session, m *core.Message, arg, usage string) (r *room, target *session, rest string, err error) {
	name, rest, _ := strings.Cut(arg, " ")
	if name == "" {
		return nil, nil, "", &core.Rejection{Reason: "usage: " + usage}
	}
	r = s.roomOf(m)
	sess.mu.Lock()
	who := sess.whoLocked()
	sess.mu.Unlock()
	s.rooms.mu.Lock()
	op := s.chanOpLocked(r, sess, who)
	s.rooms.mu.Unlock()
	if !op {
		return nil, nil, "", &core.Rejection{Reason: "you are not an operator of " + r.label()}
	}
	if target = s.sessions.nick(name); target == nil || !target.confirmed.Load() || !target.in(r) {
		return nil, nil, "", &core.Rejection{Reason: fmt.Sprintf("no %s in %s", name, r.label())}
	}
	return r, target, strings.TrimSpace(rest), nil
}

// moderate logs and announces an action on target in r.
func (s *Server) moderate(ctx context.Context, r *room, by *session, action, target, what string) {
	name := by.displayName()
	s.log.Info("moderation", "action", action, "by", name, "target", target, "channel", r.label())
	s.announce(ctx, r, name+" "+what, 0)
}

func (s *Server) runOp(ctx context.Context, sess *session, m *core.Message, arg string, _ core.Handler) error {
	return s.setOp(ctx, sess, m, arg, true)
}

func (s *Server) runDeop(ctx context.Context, sess *session, m *core.Message, arg string, _ core.Handler) error {
	return s.setOp(ctx, sess, m, arg, false)
}

func (s *Server) setOp(ctx context.Context, sess *session, m *core.Message, arg string, op bool) error {
	usage := "/op NAME"
	if !op {
		usage = "/deop NAME"
	}
	r, target, _, err := s.moderated(sess, m, arg, usage)
	if err != nil {
		return err
	}
	if r == s.lobby {
		return &core.Rejection{Reason: "the lobby's operators are the server's, in its configuration"}
	}
	target.mu.Lock()
	who, name := target.whoLocked(), target.name
	target.mu.Unlock()
	s.rooms.mu.Lock()
	if op {
		if r.ops == nil {
			r.ops = map[string]bool{}
		}
		if len(r.ops) >= maxOps && !r.ops[who] {
			s.rooms.mu.Unlock()
			return &core.Rejection{Reason: fmt.Sprintf("%s has %d operators, its most", r.label(), maxOps)}
		}
		r.ops[who] = true
	} else {
		delete(r.ops, who)
	}
	s.rooms.mu.Unlock()
	if op {
		s.moderate(ctx, r, sess, "op", name, fmt.Sprintf("made %s an operator of %s", name, r.label()))
	} else {
		s.moderate(ctx, r, sess, "deop", name, fmt.Sprintf("took %s's operator rights in %s", name, r.label()))
	}
	return nil
}

// maxOps bounds a channel's operators.
const maxOps = 64

func (s *Server) runKick(ctx context.Context, sess *session, m *core.Message, arg string, _ core.Handler) error {
	r, target, reason, err := s.moderated(sess, m, arg, "/kick NAME [REASON]")
	if err != nil {
		return err
	}
	if err := checkTopic(reason); err != nil {
		return &core.Rejection{Reason: "a reason " + strings.TrimPrefix(err.Error(), "a topic ")}
	}
	name := target.displayName()
	what := fmt.Sprintf("kicked %s from %s", name, r.label())
	if reason != "" {
		what += ": " + reason
	}
	if r == s.lobby {
		// Out of the lobby is off the server: the session ends, and
		// only a ban keeps its client from coming back.
		s.moderate(ctx, r, sess, "kick", name, what)
		s.dismiss(ctx, target, "kicked", "you were "+strings.Replace(what, "kicked "+name, "kicked", 1)+" by "+sess.displayName())
		return nil
	}
	if !s.leave(target, r) {
		return &core.Rejection{Reason: fmt.Sprintf("no %s in %s", name, r.label())}
	}
	s.notify(target, core.KindError, fmt.Sprintf("%s kicked you from %s%s", sess.displayName(), r.label(), strings.TrimPrefix(what, "kicked "+name+" from "+r.label())))
	s.moderate(ctx, r, sess, "kick", name, what)
	return nil
}

func (s *Server) runMute(ctx context.Context, sess *session, m *core.Message, arg string, _ core.Handler) error {
	r, target, rest, err := s.moderated(sess, m, arg, "/mute NAME [DURATION]")
	if err != nil {
		return err
	}
	var until time.Time
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d < time.Second || d > maxMuteFor {
			return &core.Rejection{Reason: "usage: /mute NAME [DURATION], a duration such as 10m or 2h, at most a year"}
		}
		until = s.cfg.Now().Add(d)
	}
	target.mu.Lock()
	who, name := target.whoLocked(), target.name
	target.mu.Unlock()
	s.rooms.mu.Lock()
	if r.muted == nil {
		r.muted = map[string]time.Time{}
	}
	if len(r.muted) >= maxMuted && !r.muted[who].IsZero() {
		s.rooms.mu.Unlock()
		return &core.Rejection{Reason: fmt.Sprintf("%s has %d mutes, its most: /unmute someone first", r.label(), maxMuted)}
	}
	r.muted[who] = until
	if until.IsZero() {
		r.muted[who] = farFuture
	}
	s.rooms.mu.Unlock()
	what := fmt.Sprintf("muted %s in %s", name, r.label())
	if !until.IsZero() {
		what += " for " + rest
	}
	s.moderate(ctx, r, sess, "mute", name, what)
	return nil
}

// maxMuted bounds a channel's mutes.
const maxMuted = 256

// farFuture is the end of a mute given without a duration.
var farFuture = time.Unix(1<<62, 0)

func (s *Server) runUnmute(ctx context.Context, sess *session, m *core.Message, arg string, _ core.Handler) error {
	r, target, _, err := s.moderated(sess, m, arg, "/unmute NAME")
	if err != nil {
		return err
	}
	target.mu.Lock()
	who, name := target.whoLocked(), target.name
	target.mu.Unlock()
	s.rooms.mu.Lock()
	_, was := r.muted[who]
	delete(r.muted, who)
	s.rooms.mu.Unlock()
	if !was {
		return &core.Rejection{Reason: fmt.Sprintf("%s is not muted in %s", name, r.label())}
	}
	s.moderate(ctx, r, sess, "unmute", name, fmt.Sprintf("unmuted %s in %s", name, r.label()))
	return nil
}

// muted says why sess may not speak in r, "" if it may. It runs for every
// message: a channel with no mute costs it no name made.
func (s *Server) muted(r *room, sess *session) string {
	s.rooms.mu.Lock()
	none := len(r.muted) == 0
	s.rooms.mu.Unlock()
	if none {
		return ""
	}
	sess.mu.Lock()
	who := sess.whoLocked()
	sess.mu.Unlock()
	s.rooms.mu.Lock()
	defer s.rooms.mu.Unlock()
	until, ok := r.muted[who]
	if !ok {
		return ""
	}
	if now := s.cfg.Now(); !until.After(now) {
		delete(r.muted, who) // over
		return ""
	}
	return "you are muted in " + r.label()
}

func (s *Server) runTopicLock(ctx context.Context, sess *session, m *core.Message, arg string, _ core.Handler) error {
	if arg != "on" && arg != "off" {
		return &core.Rejection{Reason: "usage: /topiclock on|off"}
	}
	r := s.roomOf(m)
	sess.mu.Lock()
	who := sess.whoLocked()
	sess.mu.Unlock()
	s.rooms.mu.Lock()
	if !s.chanOpLocked(r, sess, who) {
		s.rooms.mu.Unlock()
		return &core.Rejection{Reason: "you are not an operator of " + r.label()}
	}
	r.topicLocked = arg == "on"
	s.rooms.mu.Unlock()
	what := "locked the topic of " + r.label() + ": only its operators set it"
	if arg == "off" {
		what = "unlocked the topic of " + r.label()
	}
	s.moderate(ctx, r, sess, "topiclock "+arg, r.label(), what)
	return nil
}

func (s *Server) runIgnore(_ context.Context, sess *session, _ *core.Message, arg string, _ core.Handler) error {
	if arg != "" && core.CheckNick(arg) != nil && !strings.Contains(arg, ":") {
		return &core.Rejection{Reason: "usage: /ignore NAME, a nickname or a seed client's ip:port"}
	}
	name := core.FoldName(arg)
	sess.mu.Lock()
	var err error
	var text string
	switch {
	case arg == "" && len(sess.ignores) == 0:
		text = "you ignore nobody"
	case arg == "":
		text = "you ignore: " + strings.Join(sess.ignores, ", ")
	case slices.Contains(sess.ignores, name):
		err = &core.Rejection{Reason: "you ignore " + arg + " already"}
	case len(sess.ignores) >= maxIgnored:
		err = &core.Rejection{Reason: fmt.Sprintf("you ignore %d names, the most: /unignore one first", maxIgnored)}
	default:
		sess.ignores = append(sess.ignores, name)
		text = "you ignore " + arg + ": their messages are not sent to you"
	}
	sess.mu.Unlock()
	if err != nil {
		return err
	}
	s.notify(sess, core.KindSystem, text)
	return nil
}

func (s *Server) runUnignore(_ context.Context, sess *session, _ *core.Message, arg string, _ core.Handler) error {
	sess.mu.Lock()
	i := slices.Index(sess.ignores, core.FoldName(arg))
	if i >= 0 && arg != "" {
		sess.ignores = slices.Delete(sess.ignores, i, i+1)
	}
	sess.mu.Unlock()
	if arg == "" || i < 0 {
		return &core.Rejection{Reason: "you do not ignore " + arg}
	}
	s.notify(sess, core.KindSystem, "you no longer ignore "+arg)
	return nil
}

// ignoresLocked reports whether sess ignores messages from name.
// sess.mu is held.
func (sess *session) ignoresLocked(name string) bool {
	return len(sess.ignores) > 0 && slices.Contains(sess.ignores, core.FoldName(name))
}

func (s *Server) runAway(_ context.Context, sess *session, _ *core.Message, arg string, _ core.Handler) error {
	if err := checkTopic(arg); err != nil || len(arg) > maxAway {
		return &core.Rejection{Reason: fmt.Sprintf("an away message is one line of at most %d bytes, without control characters", maxAway)}
	}
	sess.mu.Lock()
	sess.away = arg
	sess.mu.Unlock()
	if arg == "" {
		s.notify(sess, core.KindSystem, "you are back")
	} else {
		s.notify(sess, core.KindSystem, "you are away: "+arg)
	}
	return nil
}
