package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A room is an append-only log (docs/DESIGN.md, "Rooms are logs,
// recipients are cursors"): the server appends each message it accepts and
// gets the room's next offset; a recipient is a position in the log, read
// ahead as its flight opens; history is the log's retained tail. The log
// may live in this process (roomlog/memory) or in another one, such as a
// NATS JetStream stream per room whose sequence is the offset, which is why
// every method takes a context and reads come in batches.

// LogEntry is one message of a room's log, at its offset.
type LogEntry struct {
	// Offset is the message's place in its room's log: 1 for the first
	// message of an epoch, and one more for each next one.
	Offset uint64
	// Message is the message as appended: a copy, which neither the
	// appender's later changes nor the reader's reach.
	Message Message
}

// LogBounds says what a room's log holds.
type LogBounds struct {
	// Epoch identifies this incarnation of the room's log, and is never 0.
	// It changes whenever the log is lost and offsets start again at 1: an
	// in-memory log after a restart, a JetStream stream deleted and created
	// again. An offset means something only with its epoch, so a client
	// that resumes sends both, and a changed epoch tells it that it may have
	// missed messages.
	Epoch uint64
	// First is the oldest offset still kept: retention (a count, an age)
	// drops entries from the head. Next is the offset the next append gets.
	// An empty log has First == Next; a new one has First == Next == 1.
	First, Next uint64
}

// Len is the number of entries the log holds.
func (b LogBounds) Len() uint64 { return b.Next - b.First }

// RoomLog holds the logs of a server's rooms. Implementations are safe for
// concurrent use. It has five methods where most core interfaces have fewer
// because each one is a round trip to a log that may live in another
// process, and the callers need each of them on its own: Append (accept a
// message), Read (a recipient's next batch), Bounds (where a newcomer
// starts), Wait (block until there is more), Close (end the connection, and
// wake the waiters, at shutdown).
//
// Every method refuses a room name that CheckRoom refuses, with an error
// matching ErrRoomName, and every method after Close returns an error
// matching ErrRoomLogClosed.
type RoomLog interface {
	// Append adds a copy of m at the end of room's log and returns it with
	// the offset it got. The caller stamps m (ID, Time, Origin) before:
	// the log stores the message as it is, and its offsets are its own.
	Append(ctx context.Context, room string, m *Message) (LogEntry, error)
	// Read appends to dst the entries of room's log with Offset >= from,
	// at most max of them (none if max <= 0), in order, and returns the
	// extended dst with the log's bounds as of the read. It starts at
	// First if from < First: the caller sees from the first offset it gets
	// (or from the bounds) how many it missed. From Next and beyond it reads
	// nothing. The bounds come with the entries, not from a separate call,
	// so that a reader learns the epoch its offsets belong to in the same
	// round trip: between two calls, a log in another process may have been
	// reset, and offset 7 of a new epoch is another message.
	Read(ctx context.Context, room string, from uint64, max int, dst []LogEntry) ([]LogEntry, LogBounds, error)
	// Bounds returns room's epoch, First and Next. A room nothing was ever
	// appended to is an empty log, First == Next == 1, whose epoch its
	// first append keeps: a newcomer who looked before the first message
	// must not take that message for a reset. Each room has its own epoch,
	// as each JetStream stream would; an in-memory log gives all its rooms
	// one, since they are lost together.
	Bounds(ctx context.Context, room string) (LogBounds, error)
	// Wait blocks until room's log holds an offset greater than after
	// (Next > after+1), or its epoch is no longer epoch, and then returns
	// nil; at once if either already holds. If ctx ends first it returns
	// an error matching ctx.Err(), and if the log is closed one matching
	// ErrRoomLogClosed. The epoch is
	// part of the question because a reset log numbers from 1 again: a
	// reader waiting for offset 58 of the old epoch must wake for offset 1
	// of the new one. Wait reports that something changed, nothing more:
	// the caller reads again to find out what.
	Wait(ctx context.Context, room string, epoch, after uint64) error
	// Close releases the log and makes every Wait in progress return
	// ErrRoomLogClosed. Closing a closed log does nothing and returns nil.
	Close() error
}

// AppendStarter is a RoomLog whose appends can be pipelined, such as one
// in another process: StartAppend sends a copy of m on its way and returns
// at once, and wait returns what Append would have, waiting until ctx ends.
// Appends started from one goroutine take their offsets in the order they
// were started, unless one had to be sent again (its first try failed),
// which may put it after appends started later. A server starts each room
// message's append as its handlers pass it and finishes it in order on
// another goroutine, so that a log a round trip away costs the room that
// round trip's latency, not its rate.
type AppendStarter interface {
	StartAppend(ctx context.Context, room string, m *Message) (wait func(ctx context.Context) (LogEntry, error))
}

// RoomLogConfig is what configuration says about the room log, whichever
// implementation it names. A zero field means the implementation's default,
// so that a configuration that says nothing gets a bounded log. Settings
// only one implementation understands (a server's address) are added here
// as fields, which changes no implementation that ignores them.
type RoomLogConfig struct {
	// MaxEntries bounds the entries kept per room; the oldest go first.
	MaxEntries int
	// MaxAge, when set, drops entries older than this.
	MaxAge time.Duration
	// MaxRooms bounds the rooms the log holds: a room past it is refused
	// with an error matching ErrTooManyRooms.
	MaxRooms int
}

// RoomLogDriver opens a RoomLog: it is what the registry holds for each
// name, as a Network is for a transport. Open takes a context because
// opening a log in another process connects to it.
type RoomLogDriver interface {
	Open(ctx context.Context, cfg RoomLogConfig) (RoomLog, error)
}

// RoomLogs maps room log names to implementations ("memory").
var RoomLogs = NewRegistry[RoomLogDriver]("room log")

// Errors of the room log, for errors.Is.
var (
	// ErrRoomLogClosed means the room log has been closed.
	ErrRoomLogClosed = errors.New("room log closed")
	// ErrRoomName means a name CheckRoom refuses.
	ErrRoomName = errors.New("invalid room name")
	// ErrTooManyRooms means the log holds as many rooms as it may.
	ErrTooManyRooms = errors.New("too many rooms")
)

// MaxRoom is the longest room name, in bytes. A JetStream log keeps a room
// as a stream, whose name is a directory on the NATS server's disk and a
// token of the subjects its API uses; NATS advises names under 32
// characters, and 24 leaves a log 8 for a prefix of its own ("room_").
const MaxRoom = 24

// CheckRoom says why name cannot be a room's name, or returns nil: 1 to
// MaxRoom lowercase ASCII letters, digits, '-' and '_', starting with a
// letter or a digit. Those characters are safe everywhere a log may put
// the name: a NATS subject token (which '.', '*', '>' and white space would
// break), a stream name, a file name. Lowercase only, because "Lobby" and
// "lobby" would be one directory on a case-insensitive file system and two
// subjects on NATS; the server folds what users type before it asks. The
// error matches ErrRoomName.
func CheckRoom(name string) error {
	if name == "" {
		return fmt.Errorf("%w: a room name cannot be empty", ErrRoomName)
	}
	if len(name) > MaxRoom {
		return fmt.Errorf("%w: a room name has at most %d characters, %q has %d", ErrRoomName, MaxRoom, name, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		case i == 0 && (c == '-' || c == '_'):
			return fmt.Errorf("%w: a room name starts with a letter or a digit: %q", ErrRoomName, name)
		default:
			return fmt.Errorf("%w: a room name has only lowercase letters, digits, '-' and '_': %q", ErrRoomName, name)
		}
	}
	return nil
}
