package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Presence across servers (core.Directory): with Config.Directory set, a
// nickname is claimed on every server sharing the room as a session
// confirms or renames, and released as it ends; /who lists the users of
// every server, and /msg to a user of another server is sent through the
// directory, to be delivered there (deliverFrom). Without one, the session
// table is all there is, as before.

// dirTimeout bounds each call to the directory. Claims are made on the read
// loop as sessions confirm: a directory that does not answer must cost it a
// bounded wait, after which the server goes on with its own table alone.
const dirTimeout = time.Second

// claimShared claims name for sess in the directory, and reports false if
// another session holds it there. A directory that cannot be reached
// does not keep the user out: the name is the session's here, logged.
//
// A name registered to another key (owners.go) is refused first, and one
// registered to sess's key that another session of this server holds is
// taken back from it, whatever the directory: registration is local.
func (s *Server) claimShared(ctx context.Context, sess *session, name string) bool {
	if problem := s.refusedName(name, sess.key); problem != "" {
		s.log.Info("nickname refused", "name", name, "why", problem)
		return false
	}
	if s.owns(sess.key, name) {
		s.takeBack(ctx, sess, name)
	}
	if s.dir == nil {
		return true
	}
	var replaces uint64
	if r := sess.welcome.resume; r != nil {
		replaces = r.Session // its client resumed: the claim is its own
	}
	ctx, cancel := context.WithTimeout(ctx, dirTimeout)
	defer cancel()
	carried, err := s.dir.Claim(ctx, name, sess.id, replaces)
	if errors.Is(err, core.ErrNickTaken) {
		return false
	}
	if err != nil {
		// The directory tries again on its own (a bucket whose leader
		// died a moment ago is elected again in seconds); a resumed
		// client is taken, meanwhile, to carry on where it was.
		s.log.Warn("directory unreachable: the nickname is claimed on this server only, until it can be reached", "name", name, "err", err)
		carried = replaces != 0
	}
	if carried {
		// Its client resumed here from another server, where it held
		// the name until now: to the room, it never left. (Read by
		// confirm, which claims before it announces.)
		sess.mu.Lock()
		sess.welcome.announce = false
		sess.mu.Unlock()
	}
	sess.mu.Lock()
	ended := sess.ended
	sess.mu.Unlock()
	if ended {
		s.releaseShared(ctx, name, sess.id) // it ended while it claimed
	}
	return true
}

// releaseShared gives up session's claim on name in the directory, and
// reports whether another session had taken it over: its client resumed
// on another server, and did not leave the room.
func (s *Server) releaseShared(ctx context.Context, name string, session uint64) (takenOver bool) {
	if s.dir == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dirTimeout)
	defer cancel()
	takenOver, err := s.dir.Release(ctx, name, session)
	if err != nil {
		s.log.Warn("directory unreachable: the nickname stays claimed until its claim lapses", "name", name, "err", err)
	}
	return takenOver
}

// sendElsewhere sends the private message m to m.To through the
// directory, for a user of another server, and turns its answer into the
// sender's verdict.
func (s *Server) sendElsewhere(ctx context.Context, m *core.Message) error {
	c := *m
	c.Origin = 0 // a session of this server means nothing elsewhere
	ctx, cancel := context.WithTimeout(ctx, dirTimeout)
	defer cancel()
	err := s.dir.Send(ctx, &c)
	var refused *core.Rejection
	switch {
	case err == nil:
		return nil
	case errors.Is(err, core.ErrNoSuchUser):
		return noSuchUser(m.To)
	case errors.As(err, &refused):
		return refused
	default:
		s.log.Warn("private message not sent through the directory", "to", m.To, "err", err)
		return &core.Rejection{Reason: fmt.Sprintf("%s cannot be reached now: try again later", m.To)}
	}
}

// noSuchUser is the verdict on a private message to nobody.
func noSuchUser(name string) error {
	return &core.Rejection{Reason: "no such user: " + name}
}

// deliverFrom is the server's core.DeliverFunc: it queues for its session
// a private message another server sends to one of this server's users,
// checked as one from here is.
func (s *Server) deliverFrom(ctx context.Context, id uint64, m *core.Message) error {
	sess := s.sessions.id(id)
	if sess == nil || !sess.confirmed.Load() {
		return fmt.Errorf("server: session %016x: %w", id, core.ErrNoSuchUser)
	}
	sess.mu.Lock()
	name, ended := sess.name, sess.ended
	sess.mu.Unlock()
	if ended || core.FoldName(name) != core.FoldName(m.To) {
		return fmt.Errorf("server: %s: %w", m.To, core.ErrNoSuchUser)
	}
	c := *m
	c.Kind, c.ID, c.Origin, c.To = core.KindPrivate, 0, 0, name
	enc, err := s.fit(&c)
	if err != nil {
		return err
	}
	return s.sendPrivate(ctx, sess, &c, enc)
}

// sendPrivate queues the private message m for its recipient to, and
// says why not if it cannot be.
func (s *Server) sendPrivate(ctx context.Context, to *session, m *core.Message, enc *encodings) error {
	to.mu.Lock()
	ignored, name := m.Origin != 0 && to.ignoresLocked(m.From), to.name
	to.mu.Unlock()
	if ignored {
		return &core.Rejection{Reason: fmt.Sprintf("%s is not taking your messages", name)}
	}
	if err := s.sendDirect(ctx, to, m, enc); err != nil {
		return &core.Rejection{Reason: fmt.Sprintf("%s has too many messages waiting: try again later", to.name)}
	}
	return nil
}

// usersElsewhere adds to the users of this server those of other servers
// the directory lists, at least limit of them if there are as many, and
// returns them with how many there are in all and which are elsewhere (by
// folded name).
func (s *Server) usersElsewhere(ctx context.Context, local []core.User, limit int) ([]core.User, int, map[string]bool) {
	if s.dir == nil {
		return local, len(local), nil
	}
	ctx, cancel := context.WithTimeout(ctx, dirTimeout)
	defer cancel()
	all, total, err := s.dir.Users(ctx, limit+len(local))
	if err != nil {
		s.log.Warn("directory unreachable: /who lists this server's users only", "err", err)
		return local, len(local), nil
	}
	here := make(map[string]bool, len(local))
	for _, u := range local {
		here[core.FoldName(u.Name)] = true
	}
	elsewhere := map[string]bool{}
	users := local
	for _, u := range all {
		if k := core.FoldName(u.Name); !here[k] && !elsewhere[k] {
			elsewhere[k] = true
			users = append(users, u)
		}
	}
	return users, max(total, len(users)), elsewhere
}
