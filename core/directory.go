package core

import (
	"context"
	"errors"
)

// Presence across servers. Servers that share a room's log (docs/DESIGN.md,
// "Rooms are logs") share its people too: a nickname is one user's on every
// server, /who lists everyone, and /msg reaches a user wherever they are
// connected. A Directory is where the servers meet for that, such as a
// NATS JetStream key-value bucket of claimed nicknames with a request
// subject per server; a server without one keeps its users to itself.
// Only plaintext names and private messages cross it: session keys never
// leave their server.

// Directory is the presence the servers sharing a room agree on. A server
// opens it once, as it starts serving, and closes what Open returned as it
// stops.
type Directory interface {
	// Open joins this server to the directory: from now on deliver is
	// called with each private message another server sends to one of
	// this server's users, and what it returns goes back to the sender.
	Open(ctx context.Context, deliver DeliverFunc) (Presence, error)
}

// DeliverFunc hands a private message from another server to the session
// of this server that claimed m.To (Presence.Claim). It returns nil once
// the message is queued for the user, an error matching ErrNoSuchUser if
// the session is gone or holds another name now, or a *Rejection whose
// reason the sender is told (the recipient has too many messages
// waiting). It is called from the directory's goroutines, while the
// server serves.
type DeliverFunc func(ctx context.Context, session uint64, m *Message) error

// Presence is one server's part of a Directory. It is safe for concurrent
// use. It has five methods where most core interfaces have fewer because
// each is a round trip to the servers' shared state, and the server needs
// each on its own: Claim (a user confirms, or renames), Release (a user
// leaves), Users (/who), Send (/msg), Close (the server stops).
type Presence interface {
	// Claim gives the nickname name, compared as FoldName folds it, to
	// this server's session, on every server, unless another session
	// holds it: then it returns an error matching ErrNickTaken. The
	// session replaces, if not 0, may be the holder: the one a client
	// resumed here (Resume), on whichever server it was, whose claim this
	// one takes over. A session claiming the name it holds keeps it. The
	// claim lasts until Release, or until this server stops keeping it
	// alive: a server that dies does not hold its users' names for ever.
	// carried reports that replaces held the name until this claim took
	// it over: its user never left the room, as every server saw it, and
	// nobody is told they joined.
	Claim(ctx context.Context, name string, session, replaces uint64) (carried bool, err error)
	// Release gives up session's claim on name. A claim another session
	// has taken over is left alone, so that a session that ends after its
	// client resumed elsewhere does not take the name from its successor:
	// takenOver reports that case, in which nobody is told its user left.
	Release(ctx context.Context, name string, session uint64) (takenOver bool, err error)
	// Users lists at most max of the users of every server (Name and
	// Version; Idle is known only to their own server and is 0), and how
	// many there are in all.
	Users(ctx context.Context, max int) (users []User, total int, err error)
	// Send delivers the private message m to the user m.To, on whichever
	// server holds that name. It returns an error matching ErrNoSuchUser
	// if nobody holds it, or its server does not answer or no longer has
	// the user; a *Rejection with the holding server's reason if it
	// refused the message; another error if the directory cannot be
	// reached.
	Send(ctx context.Context, m *Message) error
	// Close stops receiving private messages and keeping the claims
	// alive. It does not release them: a client of a server that stops
	// connects to another and resumes, and takes over its claim there;
	// the others lapse. Closing a closed Presence does nothing.
	Close() error
}

// Errors of presence, for errors.Is.
var (
	// ErrNickTaken means another session holds the nickname.
	ErrNickTaken = errors.New("nickname taken")
	// ErrNoSuchUser means nobody holds the nickname, or its server no
	// longer has them.
	ErrNoSuchUser = errors.New("no such user")
)
