package plugins

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/udpchat/udpchat/core"
)

// ErrNoRoom is what a LateRoom's Post returns before Set.
var ErrNoRoom = errors.New("plugins: the room is not set yet")

// LateRoom is a core.Room given before it exists: the server is made from
// its handlers, and the plugins that are those handlers need the server,
// as the room they post to, from their start. Hand a LateRoom to Start or
// StartAll, build the server, then Set it. Until then Post fails with
// ErrNoRoom and Users is empty. It is safe for concurrent use.
type LateRoom struct {
	room atomic.Pointer[roomRef]
}

// roomRef boxes the interface, since atomic.Pointer needs a concrete type.
type roomRef struct{ core.Room }

var _ core.Room = (*LateRoom)(nil)

// Set makes r the room; later calls replace it.
func (l *LateRoom) Set(r core.Room) { l.room.Store(&roomRef{r}) }

// Post implements core.Room.
func (l *LateRoom) Post(ctx context.Context, m *core.Message) error {
	r := l.room.Load()
	if r == nil {
		return ErrNoRoom
	}
	return r.Post(ctx, m)
}

// Users implements core.Room.
func (l *LateRoom) Users() []core.User {
	r := l.room.Load()
	if r == nil {
		return nil
	}
	return r.Users()
}
