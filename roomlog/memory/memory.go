// Package memory is a room log (core.RoomLog) kept in this process's
// memory: the default, and what tests use. It is bounded, by entries per
// room, optionally by age, and by rooms, and it is lost with the process:
// each Log has an epoch of its own, drawn at random, so that a client
// resuming after a restart learns that its offsets name nothing any more.
// It is registered as "memory".
package memory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/udpchat/udpchat/core"
)

// The defaults of a zero Options field.
const (
	// DefaultMaxEntries is 4096 messages per room: history for a newcomer
	// and room for a reader minutes behind a busy room, at about 200 bytes a
	// short message, under a megabyte per room.
	DefaultMaxEntries = 4096
	// DefaultMaxRooms is 1024 rooms: far more than a server with one lobby
	// needs, and a bound on what a client naming rooms can make it keep.
	DefaultMaxRooms = 1024
)

// Options tunes a Log. A zero field takes the default.
type Options struct {
	// MaxEntries bounds the entries kept per room; the oldest go first.
	// DefaultMaxEntries if 0.
	MaxEntries int
	// MaxAge, when set, drops the entries appended longer ago than this.
	MaxAge time.Duration
	// MaxRooms bounds the rooms: Append and Wait refuse a room past it.
	// DefaultMaxRooms if 0.
	MaxRooms int
	// Now is the clock MaxAge is measured with; time.Now if nil. Tests set
	// it to age entries without sleeping.
	Now func() time.Time
}

// Log is an in-memory core.RoomLog. It is safe for concurrent use and
// starts no goroutines.
type Log struct {
	maxEntries int
	maxAge     time.Duration
	maxRooms   int
	now        func() time.Time
	epoch      uint64
	done       chan struct{} // closed by Close, to wake every Wait

	mu     sync.RWMutex // guards rooms and closed
	rooms  map[string]*room
	closed bool
}

var _ core.RoomLog = (*Log)(nil)

// New returns an empty log with a new random epoch.
func New(o Options) (*Log, error) {
	if o.MaxEntries < 0 || o.MaxRooms < 0 || o.MaxAge < 0 {
		return nil, fmt.Errorf("roomlog/memory: negative bound (max entries %d, max rooms %d, max age %v)", o.MaxEntries, o.MaxRooms, o.MaxAge)
	}
	l := &Log{
		maxEntries: o.MaxEntries,
		maxAge:     o.MaxAge,
		maxRooms:   o.MaxRooms,
		now:        o.Now,
		epoch:      newEpoch(),
		done:       make(chan struct{}),
		rooms:      make(map[string]*room),
	}
	if l.maxEntries == 0 {
		l.maxEntries = DefaultMaxEntries
	}
	if l.maxRooms == 0 {
		l.maxRooms = DefaultMaxRooms
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// newEpoch draws an epoch: random, so that two runs of a server (or two
// servers) do not share one, and never 0, which core reserves.
func newEpoch() uint64 {
	for {
		if e := rand.Uint64(); e != 0 {
			return e
		}
	}
}

// Epoch is the log's epoch: every room of an in-memory log is lost, and
// so starts again, together.
func (l *Log) Epoch() uint64 { return l.epoch }

// Append implements core.RoomLog.
func (l *Log) Append(ctx context.Context, name string, m *core.Message) (core.LogEntry, error) {
	if m == nil {
		return core.LogEntry{}, errors.New("roomlog/memory: append: nil message")
	}
	r, err := l.room(ctx, "append", name, true)
	if err != nil {
		return core.LogEntry{}, err
	}
	now := l.now()
	return r.append(m, now, l.cutoffAt(now)), nil
}

// Read implements core.RoomLog.
func (l *Log) Read(ctx context.Context, name string, from uint64, max int, dst []core.LogEntry) ([]core.LogEntry, core.LogBounds, error) {
	r, err := l.room(ctx, "read", name, false)
	if err != nil {
		return dst, core.LogBounds{}, err
	}
	if r == nil {
		return dst, l.empty(), nil
	}
	dst, first, next := r.read(from, max, dst, l.cutoff())
	return dst, core.LogBounds{Epoch: l.epoch, First: first, Next: next}, nil
}

// Bounds implements core.RoomLog.
func (l *Log) Bounds(ctx context.Context, name string) (core.LogBounds, error) {
	r, err := l.room(ctx, "bounds", name, false)
	if err != nil {
		return core.LogBounds{}, err
	}
	if r == nil {
		return l.empty(), nil
	}
	_, first, next := r.read(0, 0, nil, l.cutoff())
	return core.LogBounds{Epoch: l.epoch, First: first, Next: next}, nil
}

// Wait implements core.RoomLog. It creates the room if it has to, since a
// waiter needs somewhere to be woken from.
func (l *Log) Wait(ctx context.Context, name string, epoch, after uint64) error {
	if err := l.usable(ctx, "wait", name); err != nil {
		return err
	}
	if epoch != l.epoch {
		return nil
	}
	r, err := l.room(ctx, "wait", name, true)
	if err != nil {
		return err
	}
	for {
		changed := r.waitPast(after)
		if changed == nil {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			return fmt.Errorf("roomlog/memory: wait for room %q: %w", name, core.ErrRoomLogClosed)
		}
	}
}

// Close implements core.RoomLog: it drops every room and wakes every Wait.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.rooms = nil
	close(l.done)
	return nil
}

// usable refuses a closed log, an ended ctx and a name CheckRoom refuses,
// saying which operation on which room.
func (l *Log) usable(ctx context.Context, op, name string) error {
	if err := core.CheckRoom(name); err != nil {
		return fmt.Errorf("roomlog/memory: %s: %w", op, err)
	}
	select {
	case <-l.done:
		return fmt.Errorf("roomlog/memory: %s room %q: %w", op, name, core.ErrRoomLogClosed)
	default:
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("roomlog/memory: %s room %q: %w", op, name, err)
	}
	return nil
}

// room returns the room called name, creating it if create is set, or nil
// if it does not exist and create is not.
func (l *Log) room(ctx context.Context, op, name string, create bool) (*room, error) {
	if err := l.usable(ctx, op, name); err != nil {
		return nil, err
	}
	l.mu.RLock()
	r, closed := l.rooms[name], l.closed
	l.mu.RUnlock()
	if r != nil || !create {
		if closed {
			return nil, fmt.Errorf("roomlog/memory: %s room %q: %w", op, name, core.ErrRoomLogClosed)
		}
		return r, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("roomlog/memory: %s room %q: %w", op, name, core.ErrRoomLogClosed)
	}
	if r := l.rooms[name]; r != nil {
		return r, nil
	}
	if len(l.rooms) >= l.maxRooms {
		return nil, fmt.Errorf("roomlog/memory: %s room %q: %w (%d, the limit)", op, name, core.ErrTooManyRooms, l.maxRooms)
	}
	r = newRoom(l.maxEntries)
	l.rooms[name] = r
	return r, nil
}

// empty is the bounds of a room nothing was appended to.
func (l *Log) empty() core.LogBounds { return core.LogBounds{Epoch: l.epoch, First: 1, Next: 1} }

// cutoff is the append time before which entries have expired, or the zero
// time when entries do not expire.
func (l *Log) cutoff() time.Time {
	if l.maxAge == 0 {
		return time.Time{}
	}
	return l.cutoffAt(l.now())
}

// cutoffAt is cutoff at now.
func (l *Log) cutoffAt(now time.Time) time.Time {
	if l.maxAge == 0 {
		return time.Time{}
	}
	return now.Add(-l.maxAge)
}

// Driver opens in-memory logs; it is registered as "memory".
type Driver struct{}

var _ core.RoomLogDriver = Driver{}

// Open implements core.RoomLogDriver.
func (Driver) Open(_ context.Context, cfg core.RoomLogConfig) (core.RoomLog, error) {
	return New(Options{MaxEntries: cfg.MaxEntries, MaxAge: cfg.MaxAge, MaxRooms: cfg.MaxRooms})
}

func init() { core.RoomLogs.Register("memory", Driver{}) }
