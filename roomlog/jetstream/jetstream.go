// Package jetstream is a room log (core.RoomLog) on NATS JetStream, so that
// a room outlives the process, and several servers share it.
//
// Each room is a stream of its own, UDPCHAT_ROOM_<room>, holding the one
// subject udpchat.room.<room>: the stream's sequence is the room's offset,
// contiguous as core's contract and a reader's "missed N" count need (a
// stream shared by rooms would leave gaps in each room's offsets). The
// stream's creation time (UnixNano), the same on every node, is the epoch,
// so a stream deleted and created again is a new epoch. Retention is the
// stream's: MaxMsgs, MaxAge, discard old.
//
// Append publishes with a Nats-Msg-Id, drawn once per Append and sent again
// when a publish is retried, so that the stream stores a retried message
// once. Read is a batched direct get, one round trip for a batch beside
// the stream info its bounds come from, or none for a reader at the head,
// whose entries the live messages brought. Wait listens to the stream's
// RePublish on udpchat.live.<room>, one subscription per Log; since core
// NATS delivers at most once, a live message that does not follow the last
// one seen sends the log to read the stream's state, and a poll every
// second (and on reconnect) wakes a waiter whose notification was lost.
//
// The caller owns the NATS connection: Close ends the log's subscriptions,
// not the connection.
package jetstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/udpchat/udpchat/core"
)

// The names a room's stream and subjects take.
const (
	// StreamPrefix starts the name of every room's stream.
	StreamPrefix = "UDPCHAT_ROOM_"
	// SubjectPrefix starts the subject a room's messages are published on.
	SubjectPrefix = "udpchat.room."
	// LivePrefix starts the subject a room's stream republishes each
	// stored message on, which Wait listens to.
	LivePrefix = "udpchat.live."
)

// The defaults of a zero configuration or Options field.
const (
	// DefaultMaxEntries is 10,000 messages per room (the broker.max_messages
	// default): at about 200 bytes a message, 2 MB of disk per room.
	DefaultMaxEntries = 10000
	// DefaultMaxRooms is 1024 rooms, as roomlog/memory's.
	DefaultMaxRooms = 1024
	// DefaultTimeout bounds a call whose context has no deadline: the
	// server reads with context.Background(), and a NATS server gone away
	// must give it an error, not a hang.
	DefaultTimeout = 5 * time.Second
	// DefaultPoll is how often the state of the rooms someone waits on is
	// read, in case a live notification was lost.
	DefaultPoll = time.Second
	// attemptTimeout bounds one publish attempt: a publish whose ack was
	// lost is sent again (with its id) rather than waited on for the
	// whole of the caller's context.
	attemptTimeout = 2 * time.Second
	// maxBatch bounds one direct get, whatever the caller's max.
	maxBatch = 1024
)

// Options tunes a Log. A zero field takes its default.
type Options struct {
	// Replicas is the number of copies of each room's stream: 1 if 0.
	Replicas int
	// Storage is where streams keep their messages: file (the default) or
	// memory.
	Storage natsjs.StorageType
	// Logger gets what the log has to say; slog.Default() if nil.
	Logger *slog.Logger
	// Poll is how often the rooms waited on are checked: DefaultPoll if 0.
	Poll time.Duration
	// Timeout bounds a call whose context has no deadline: DefaultTimeout
	// if 0.
	Timeout time.Duration
	// Alone says this log is the only one its NATS will ever have, as
	// with an embedded server that accepts no connection: nobody else
	// appends, so its streams send no live messages (RePublish) and Wait
	// is woken by this log's own appends (and the poll, for a stream
	// lost). A live message costs about as much CPU again as the append
	// it tells of (roomlogtest.BenchmarkPipelined).
	Alone bool
}

// Log is a core.RoomLog on JetStream. It is safe for concurrent use.
type Log struct {
	js       natsjs.JetStream
	nc       *nats.Conn
	maxMsgs  int
	maxAge   time.Duration
	maxRooms int
	opts     Options
	log      *slog.Logger

	live, replies *nats.Subscription
	inbox         string // the prefix of direct get replies, "<inbox>.<token>"
	status        chan nats.Status
	kick          chan struct{} // a room's state needs reading at once
	done          chan struct{} // closed by Close
	stop          context.CancelFunc
	polling       context.Context // ends at Close, for the poll's calls
	wg            sync.WaitGroup

	mu     sync.Mutex // guards rooms and every room's state, closed
	rooms  map[string]*room
	closed bool

	pendingMu sync.Mutex // guards pending and token
	pending   map[string]chan *nats.Msg
	token     uint64

	// dropLive, when set, drops the live messages it returns true for: the
	// tests' way of losing one.
	dropLive func(room string, seq uint64) bool
}

var _ core.RoomLog = (*Log)(nil)

// room is what the log knows of one room's stream. Its fields are guarded
// by Log.mu.
type room struct {
	name, stream, subject string
	epoch                 uint64 // the stream's, as last learned
	next                  uint64 // the highest Next learned in this epoch
	lastLive              uint64 // the sequence of the last live message
	stale                 bool   // a live message showed a gap: read the state
	waiters               int
	changed               chan struct{} // closed when epoch or next changes
	first                 uint64        // First, as last read from the stream
	recent                recent        // the latest entries, from live messages
}

// Open returns a log of rooms on js, with cfg's retention. It subscribes to
// the live subjects and starts the poll; Close ends both.
func Open(ctx context.Context, js natsjs.JetStream, cfg core.RoomLogConfig, opts Options) (*Log, error) {
	if cfg.MaxEntries < 0 || cfg.MaxRooms < 0 || cfg.MaxAge < 0 || opts.Replicas < 0 || opts.Poll < 0 || opts.Timeout < 0 {
		return nil, fmt.Errorf("roomlog/jetstream: negative bound (max entries %d, max rooms %d, max age %v, replicas %d)", cfg.MaxEntries, cfg.MaxRooms, cfg.MaxAge, opts.Replicas)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("roomlog/jetstream: open: %w", err)
	}
	l := &Log{
		js: js, nc: js.Conn(),
		maxMsgs: cfg.MaxEntries, maxAge: cfg.MaxAge, maxRooms: cfg.MaxRooms,
		opts: opts, log: opts.Logger,
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		rooms:   make(map[string]*room),
		pending: make(map[string]chan *nats.Msg),
	}
	if l.maxMsgs == 0 {
		l.maxMsgs = DefaultMaxEntries
	}
	if l.maxRooms == 0 {
		l.maxRooms = DefaultMaxRooms
	}
	if l.opts.Replicas == 0 {
		l.opts.Replicas = 1
	}
	if l.opts.Poll == 0 {
		l.opts.Poll = DefaultPoll
	}
	if l.opts.Timeout == 0 {
		l.opts.Timeout = DefaultTimeout
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	var err error
	if l.live, err = l.nc.Subscribe(LivePrefix+"*", l.onLive); err != nil {
		return nil, fmt.Errorf("roomlog/jetstream: subscribe to %s*: %w", LivePrefix, err)
	}
	// Alone, nothing comes there once the log has touched its rooms
	// (relive takes their RePublish away); subscribed all the same.
	l.inbox = l.nc.NewRespInbox()
	if l.replies, err = l.nc.Subscribe(l.inbox+".*", l.onReply); err != nil {
		l.live.Unsubscribe()
		return nil, fmt.Errorf("roomlog/jetstream: subscribe to replies: %w", err)
	}
	// The subscriptions must be known to the server before the first
	// append, or its notification could be missed.
	fctx, cancel := l.withTimeout(ctx)
	defer cancel()
	if err := l.nc.FlushWithContext(fctx); err != nil {
		l.live.Unsubscribe()
		l.replies.Unsubscribe()
		return nil, fmt.Errorf("roomlog/jetstream: open: %w", l.unreachable(err))
	}
	l.status = l.nc.StatusChanged(nats.CONNECTED)
	l.polling, l.stop = context.WithCancel(context.Background())
	l.wg.Add(1)
	go l.poll()
	return l, nil
}

// Append implements core.RoomLog. A publish that times out is sent again
// with the same message id until ctx ends, so the stream keeps it once.
func (l *Log) Append(ctx context.Context, name string, m *core.Message) (core.LogEntry, error) {
	r, data, err := l.appending(ctx, name, m)
	if err != nil {
		return core.LogEntry{}, err
	}
	return l.appendAs(ctx, r, data, newID(), m)
}

var _ core.AppendStarter = (*Log)(nil)

// StartAppend implements core.AppendStarter: an asynchronous publish on the
// log's connection, which JetStream sequences in the order sent. A publish
// that fails, or whose ack does not come, is sent again by wait as Append
// does, with the same message id.
func (l *Log) StartAppend(ctx context.Context, name string, m *core.Message) func(context.Context) (core.LogEntry, error) {
	r, data, err := l.appending(ctx, name, m)
	if err != nil {
		return func(context.Context) (core.LogEntry, error) { return core.LogEntry{}, err }
	}
	id := newID()
	msg := nats.NewMsg(r.subject)
	msg.Data = data
	f, err := l.js.PublishMsgAsync(msg, natsjs.WithMsgID(id), natsjs.WithExpectStream(r.stream))
	return func(ctx context.Context) (core.LogEntry, error) {
		if err != nil {
			return l.appendAs(ctx, r, data, id, m)
		}
		// Pipelined, the ack is often in by the time it is waited for:
		// no timer for that.
		select {
		case ack := <-f.Ok():
			return l.acked(r, ack, m), nil
		case <-f.Err():
			return l.appendAs(ctx, r, data, id, m)
		default:
		}
		c, cancel := context.WithTimeout(ctx, attemptTimeout)
		defer cancel()
		select {
		case ack := <-f.Ok():
			return l.acked(r, ack, m), nil
		case <-f.Err():
		case <-c.Done():
		case <-l.done:
			return core.LogEntry{}, l.closedErr("append to", name)
		}
		return l.appendAs(ctx, r, data, id, m)
	}
}

// appending is what every append starts with: m checked, its room found
// (or made), and m in its stored form.
func (l *Log) appending(ctx context.Context, name string, m *core.Message) (*room, []byte, error) {
	if m == nil {
		return nil, nil, errors.New("roomlog/jetstream: append: nil message")
	}
	r, err := l.room(ctx, "append", name)
	if err != nil {
		return nil, nil, err
	}
	return r, appendMessage(nil, m), nil
}

// acked is the entry of m, which r's stream acknowledged with ack.
func (l *Log) acked(r *room, ack *natsjs.PubAck, m *core.Message) core.LogEntry {
	l.learnNext(r, ack.Sequence+1)
	return core.LogEntry{Offset: ack.Sequence, Message: *m}
}

// appendAs publishes data, m's stored form, to r's stream with the message
// id id until it is acknowledged or ctx ends.
func (l *Log) appendAs(ctx context.Context, r *room, data []byte, id string, m *core.Message) (core.LogEntry, error) {
	name := r.name
	msg := nats.NewMsg(r.subject)
	msg.Data = data
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	wait := 20 * time.Millisecond
	for {
		ack, err := l.publish(ctx, msg, id, r.stream)
		if err == nil {
			return l.acked(r, ack, m), nil
		}
		switch {
		case ctx.Err() != nil:
			return core.LogEntry{}, l.fail("append to", name, ended(ctx, err))
		case errors.Is(err, natsjs.ErrNoStreamResponse):
			// The stream was deleted under the log (its next epoch starts
			// here, created by state), or has no leader for now (a
			// cluster electing one): find out, and try again until ctx
			// ends, unless the room may not be made again.
			// Asked for at most attemptTimeout: JetStream's API may be
			// electing its own leader too, and an answer that does not
			// come must not take the time left for the append.
			sctx, cancel := context.WithTimeout(ctx, attemptTimeout)
			_, serr := l.state(sctx, r)
			cancel()
			if errors.Is(serr, core.ErrTooManyRooms) {
				return core.LogEntry{}, l.fail("append to", name, serr)
			}
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
			// This attempt's ack did not come: the same id again.
		default:
			return core.LogEntry{}, l.fail("append to", name, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return core.LogEntry{}, l.fail("append to", name, ended(ctx, err))
		case <-l.done:
			return core.LogEntry{}, l.closedErr("append to", name)
		}
		wait = min(2*wait, time.Second)
	}
}

// ended is ctx's error, with the last attempt's if that says more.
func ended(ctx context.Context, last error) error {
	if last == nil || errors.Is(last, ctx.Err()) {
		return ctx.Err()
	}
	return fmt.Errorf("%w (the last attempt: %v)", ctx.Err(), last)
}

// publish sends msg once, with id, for at most attemptTimeout.
func (l *Log) publish(ctx context.Context, msg *nats.Msg, id, stream string) (*natsjs.PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	return l.js.PublishMsg(ctx, msg, natsjs.WithMsgID(id), natsjs.WithExpectStream(stream), natsjs.WithRetryAttempts(0))
}

// newID draws a message id: 128 random bits, so that no two appends share
// one within the stream's duplicate window.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Read implements core.RoomLog: from the latest entries the live messages
// brought, if they hold all it asks for, or else the stream's state, then
// at most one batched direct get of what it holds from from.
func (l *Log) Read(ctx context.Context, name string, from uint64, max int, dst []core.LogEntry) ([]core.LogEntry, core.LogBounds, error) {
	r, err := l.room(ctx, "read", name)
	if err != nil {
		return dst, core.LogBounds{}, err
	}
	if dst, b, ok := l.readRecent(r, from, max, dst); ok {
		return dst, b, nil
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	b, err := l.state(ctx, r)
	if err != nil {
		return dst, core.LogBounds{}, l.fail("read", name, err)
	}
	if max <= 0 || from >= b.Next {
		return dst, b, nil
	}
	// The entries come in a second round trip, so a stream deleted and
	// made again between the two would give new entries under the old
	// epoch; the batch stops at the old Next, which a new stream reaches
	// only if it grew as long within the round trip, and the next read
	// learns the new epoch.
	from = maxOf(from, b.First)
	n := min(uint64(max), b.Next-from, maxBatch)
	start := len(dst)
	dst, err = l.get(ctx, r, from, int(n), dst)
	if err != nil {
		return dst[:start], core.LogBounds{}, l.fail("read", name, err)
	}
	// What was appended after the state was read belongs to the next
	// read, whose bounds will say so.
	for i := start; i < len(dst); i++ {
		if dst[i].Offset >= b.Next {
			clear(dst[i:])
			dst = dst[:i]
			break
		}
	}
	if len(dst) > start && dst[start].Offset > from {
		b.First = dst[start].Offset // retention dropped some meanwhile
	}
	return dst, b, nil
}

// Bounds implements core.RoomLog. It creates the room's stream if there is
// none, so that the epoch it returns is the one the first append keeps.
func (l *Log) Bounds(ctx context.Context, name string) (core.LogBounds, error) {
	r, err := l.room(ctx, "bounds", name)
	if err != nil {
		return core.LogBounds{}, err
	}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	b, err := l.state(ctx, r)
	if err != nil {
		return core.LogBounds{}, l.fail("bounds of", name, err)
	}
	return b, nil
}

// Wait implements core.RoomLog. It answers from what the log knows of the
// room, which live messages, appends, reads and the poll keep up to date.
func (l *Log) Wait(ctx context.Context, name string, epoch, after uint64) error {
	r, err := l.room(ctx, "wait", name)
	if err != nil {
		return err
	}
	l.mu.Lock()
	r.waiters++
	defer func() {
		l.mu.Lock()
		r.waiters--
		l.mu.Unlock()
	}()
	for {
		if r.epoch != epoch || r.next-1 > after {
			l.mu.Unlock()
			return nil
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		changed := r.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("roomlog/jetstream: wait for room %q: %w", name, ctx.Err())
		case <-l.done:
			return l.closedErr("wait for", name)
		}
		l.mu.Lock()
	}
}

// Close implements core.RoomLog: it ends the subscriptions and the poll,
// and wakes every Wait. The connection stays the caller's.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	l.mu.Unlock()
	l.stop()
	l.wg.Wait()
	l.nc.RemoveStatusListener(l.status)
	errs := []error{l.live.Unsubscribe(), l.replies.Unsubscribe()}
	if errors.Is(errs[0], nats.ErrConnectionClosed) {
		return nil // the subscriptions ended with the connection
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("roomlog/jetstream: close: %w", err)
	}
	return nil
}

// room refuses a closed log, an ended ctx and a bad name, and returns the
// state of the room called name, creating its stream if it has none.
func (l *Log) room(ctx context.Context, op, name string) (*room, error) {
	if err := core.CheckRoom(name); err != nil {
		return nil, fmt.Errorf("roomlog/jetstream: %s: %w", op, err)
	}
	l.mu.Lock()
	r, closed := l.rooms[name], l.closed
	l.mu.Unlock()
	if closed {
		return nil, l.closedErr(op, name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("roomlog/jetstream: %s room %q: %w", op, name, err)
	}
	if r != nil {
		return r, nil
	}
	r = &room{name: name, stream: StreamPrefix + name, subject: SubjectPrefix + name}
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	if _, err := l.state(ctx, r); err != nil {
		return nil, l.fail(op, name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, l.closedErr(op, name)
	}
	if known := l.rooms[name]; known != nil {
		return known, nil
	}
	l.rooms[name] = r
	return r, nil
}

// state reads r's stream's state, creating the stream if there is none,
// learns from it, and returns its bounds.
func (l *Log) state(ctx context.Context, r *room) (core.LogBounds, error) {
	s, err := l.js.Stream(ctx, r.stream)
	switch {
	case errors.Is(err, natsjs.ErrStreamNotFound):
		s, err = l.create(ctx, r)
	case err == nil && (s.CachedInfo().Config.RePublish == nil) != l.opts.Alone:
		s, err = l.relive(ctx, r, s.CachedInfo().Config)
	}
	if err != nil {
		return core.LogBounds{}, err
	}
	b := boundsOf(s.CachedInfo())
	l.learn(r, b)
	return b, nil
}

// create creates r's stream, unless the log holds MaxRooms rooms already.
// Another server may create it at the same time: JetStream answers both
// with the one stream when their configurations agree.
func (l *Log) create(ctx context.Context, r *room) (natsjs.Stream, error) {
	names := l.js.StreamNames(ctx, natsjs.WithStreamListSubject(SubjectPrefix+"*"))
	n := 0
	for range names.Name() {
		n++
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("count the rooms: %w", err)
	}
	if n >= l.maxRooms {
		return nil, fmt.Errorf("%w (%d, the limit)", core.ErrTooManyRooms, l.maxRooms)
	}
	cfg := natsjs.StreamConfig{
		Name:        r.stream,
		Description: "udpchat room " + r.name,
		Subjects:    []string{r.subject},
		Retention:   natsjs.LimitsPolicy,
		MaxMsgs:     int64(l.maxMsgs),
		MaxAge:      l.maxAge,
		Discard:     natsjs.DiscardOld,
		Storage:     l.opts.Storage,
		Replicas:    l.opts.Replicas,
		AllowDirect: true,
	}
	cfg.RePublish = l.republish(r)
	s, err := l.js.CreateStream(ctx, cfg)
	if errors.Is(err, natsjs.ErrStreamNameAlreadyInUse) {
		// Made with other settings (an earlier configuration's retention):
		// this configuration's apply from now on.
		l.log.Info("room log: updating the room's stream to the configured retention", "room", r.name, "stream", r.stream)
		s, err = l.js.UpdateStream(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", r.stream, err)
	}
	l.log.Debug("room log: created the room's stream", "room", r.name, "stream", r.stream, "replicas", l.opts.Replicas)
	return s, nil
}

// republish is the RePublish of r's stream: its live messages, unless the
// log is Alone.
func (l *Log) republish(r *room) *natsjs.RePublish {
	if l.opts.Alone {
		return nil
	}
	return &natsjs.RePublish{Source: r.subject, Destination: LivePrefix + r.name}
}

// relive gives r's stream, whose configuration is cfg, the live messages
// this log wants: a room made by a server alone and then opened by one
// of a cluster must tell the other servers of its appends, and one made
// in a cluster and opened alone need not.
func (l *Log) relive(ctx context.Context, r *room, cfg natsjs.StreamConfig) (natsjs.Stream, error) {
	cfg.RePublish = l.republish(r)
	l.log.Info("room log: the room's live messages follow the broker", "room", r.name, "stream", r.stream, "live", cfg.RePublish != nil)
	s, err := l.js.UpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("update stream %s: %w", r.stream, err)
	}
	return s, nil
}

// boundsOf is a stream's state as a room log's bounds.
func boundsOf(info *natsjs.StreamInfo) core.LogBounds {
	next := info.State.LastSeq + 1
	first := max(info.State.FirstSeq, 1)
	if info.State.Msgs == 0 {
		first = next
	}
	epoch := uint64(info.Created.UnixNano())
	if epoch == 0 {
		epoch = 1 // core reserves 0
	}
	return core.LogBounds{Epoch: epoch, First: first, Next: next}
}

// learn records b, a state of r's stream, and wakes r's waiters if it
// changes what they wait on.
func (l *Log) learn(r *room, b core.LogBounds) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r.first = max(r.first, b.First)
	switch {
	case r.epoch != b.Epoch:
		r.epoch, r.next, r.lastLive, r.first = b.Epoch, b.Next, b.Next-1, b.First
		r.recent.reset()
	case b.Next > r.next:
		r.next = b.Next
	default:
		return
	}
	r.wake()
}

// learnNext records that r's stream holds offsets before next, in the
// epoch the log knows.
func (l *Log) learnNext(r *room, next uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if next > r.next {
		r.next = next
		r.wake()
	}
}

// wake wakes r's waiters. Log.mu is held.
func (r *room) wake() {
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

// withTimeout bounds ctx by the log's Timeout if it has no deadline.
func (l *Log) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, l.opts.Timeout)
}

// fail wraps err, what op on room name met, saying whether the NATS
// connection is down, since that is the likely cause and the fix.
func (l *Log) fail(op, name string, err error) error {
	select {
	case <-l.done:
		return l.closedErr(op, name)
	default:
	}
	return fmt.Errorf("roomlog/jetstream: %s room %q: %w", op, name, l.unreachable(err))
}

// unreachable adds the connection's state to err when it is not connected.
func (l *Log) unreachable(err error) error {
	if st := l.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("NATS server unreachable (connection %s): %w", st, err)
	}
	return err
}

func (l *Log) closedErr(op, name string) error {
	return fmt.Errorf("roomlog/jetstream: %s room %q: %w", op, name, core.ErrRoomLogClosed)
}

func maxOf(a, b uint64) uint64 { return max(a, b) }
