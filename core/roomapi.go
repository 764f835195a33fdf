package core

import (
	"context"
	"fmt"
	"time"
)

// RoomEventKind says what happened in the room.
type RoomEventKind uint8

// Room events.
const (
	EventJoin   RoomEventKind = iota // Name joined
	EventLeave                       // Name left, or timed out (Why)
	EventRename                      // Name is now known as NewName
)

func (k RoomEventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventRename:
		return "rename"
	}
	return fmt.Sprintf("RoomEventKind(%d)", uint8(k))
}

// RoomEvent is a change in who is in the room.
type RoomEvent struct {
	Kind    RoomEventKind
	Name    string
	NewName string // for EventRename
	Why     string // for EventLeave: "left", "timed out"
	Time    time.Time
}

// RoomObserver hears of joins, leaves and renames. Observers are called in
// order, from the goroutine that saw the change, and must not block long.
type RoomObserver interface {
	RoomEvent(ctx context.Context, e RoomEvent)
}

// User is someone in the room, as /who lists them.
type User struct {
	Name    string
	Version uint8
	Idle    time.Duration
	// Bot is a member a handler speaks for (BotSource): never idle.
	Bot bool
}

// Room is what the server offers handlers beyond the message in hand: a bot
// posts through it on its own, and asks who is here.
type Room interface {
	// Post sends m into the room as if From had said it: to m.To only if it
	// is set (a private message), else to everyone in the channel m.Room
	// names (the lobby if it is empty), which must be open. The server stamps ID and
	// Time. Post does not pass through the handler chain, so a handler can
	// call it from inside HandleMessage.
	Post(ctx context.Context, m *Message) error
	// Users lists who is in the room, by name.
	Users() []User
}
