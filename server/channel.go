package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Channels. Each channel is a room of its own: its own log (the room log's
// room core.ChannelRoom), offsets, epoch, cache of recent entries and
// follower, exactly as the lobby, which is the channel every session is in
// from the start and cannot leave. A version 2 session holds one cursor per
// channel it is in; its DATA carry messages of any of them, each stamped
// with its channel (core.Message.Room), and nothing is copied per
// recipient. A seed client is in the lobby unless it joins a channel with
// the same commands as text; what it is sent of a channel says which in its
// text ("[#go] <alice> hi").

// DefaultMaxChannels bounds the channels a server keeps open, the lobby
// included: each costs a cache of recentSize entries and, with a shared
// log, a follower, and a peer can name as many as it likes.
const DefaultMaxChannels = 64

// maxJoined bounds the channels one session is in beside the lobby: its
// cursors are read at every fill.
const maxJoined = 16

// room is one channel's state on the server.
type room struct {
	name    string // in the room log
	channel string // on the wire: "" for the lobby, else "#name"
	// epoch and head are the log's epoch and the offset its next append
	// gets, as last seen; recent caches the latest appends, encoded.
	epoch, head atomic.Uint64
	recent      [recentSize]atomic.Pointer[logged]
	// The next entry seed clients are to be sent, in seedEpoch
	// (sendSeeds): a position of their own, since the head moves past
	// other servers' entries before they are sent.
	seedMu              sync.Mutex
	seedEpoch, seedNext uint64
	// members counts the sessions in the channel, for /list.
	members atomic.Int32

	// Guarded by the table's mu: the topic, and moderation
	// (moderation.go): the channel's operators and who is muted in it
	// until when, each by session.whoLocked.
	topic, topicBy string
	topicAt        time.Time
	topicLocked    bool
	ops            map[string]bool
	muted          map[string]time.Time
}

// label is the channel's name as users read it.
func (r *room) label() string {
	if r.channel == "" {
		return core.Lobby
	}
	return r.channel
}

// cursor is a session's place in one channel's log: next is the offset of
// the next entry to send, in epoch, 0 until confirm places it (offsets
// start at 1); entries before liveFrom are history, shown as such. In a
// channel other than the lobby, acked is how far the client has
// acknowledged: a session that resumes this one goes on from there, not
// from next, so what was on its way and lost is sent again (the lobby's
// place comes from the client's own claim instead).
type cursor struct {
	r                     *room
	next, epoch, liveFrom uint64
	acked                 uint64
}

// chanMark is where a DATA leaves a session's cursors in its channels
// other than the lobby: the Sender hands it back once the DATA is
// acknowledged, to move their acked on. A session in the lobby alone
// sends none.
type chanMark []chanPos

type chanPos struct {
	r    *room
	next uint64
}

// markLocked is the mark of the DATA gathered to nexts (gatherLocked's),
// or nil for a session in the lobby alone. sess.mu is held.
func (sess *session) markLocked(nexts []uint64) any {
	if len(sess.chans) == 0 {
		return nil
	}
	mark := make(chanMark, len(sess.chans))
	for i, c := range sess.chans {
		mark[i] = chanPos{c.r, nexts[i+1]}
	}
	return mark
}

// ackedLocked takes in what the Sender says was acknowledged. sess.mu is
// held.
func (sess *session) ackedLocked(refs []any) {
	for _, ref := range refs {
		mark, _ := ref.(chanMark)
		for _, p := range mark {
			for _, c := range sess.chans {
				if c.r == p.r && p.next > c.acked {
					c.acked = p.next
				}
			}
		}
	}
}

// roomTable is the channels the server has open, by log name.
type roomTable struct {
	mu    sync.Mutex
	rooms map[string]*room
	// follow starts a room's follower while Serve runs with a log others
	// may append to; nil otherwise.
	follow func(r *room)
}

// errTooManyChannels refuses a channel past Config.MaxChannels.
var errTooManyChannels = errors.New("too many channels on this server")

// newRoom makes the room for channel ch, where its log stands at b.
func newRoom(ch string, b core.LogBounds) *room {
	r := &room{name: core.ChannelRoom(ch), channel: ch}
	if ch == core.Lobby {
		r.channel = ""
	}
	r.epoch.Store(b.Epoch)
	r.head.Store(b.Next)
	r.seedEpoch, r.seedNext = b.Epoch, b.Next
	return r
}

// room returns the open room of channel ch, or nil.
func (s *Server) room(ch string) *room {
	t := &s.rooms
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rooms[core.ChannelRoom(ch)]
}

// openChannel returns the room of channel ch, opening it (and learning
// where its log stands) if it is not open yet.
func (s *Server) openChannel(ctx context.Context, ch string) (*room, error) {
	if r := s.room(ch); r != nil {
		return r, nil
	}
	t := &s.rooms
	t.mu.Lock()
	full := len(t.rooms) >= s.cfg.MaxChannels
	t.mu.Unlock()
	if full {
		return nil, errTooManyChannels
	}
	ctx, cancel := context.WithTimeout(ctx, logTimeout)
	defer cancel()
	b, err := s.roomLog.Bounds(ctx, core.ChannelRoom(ch))
	if err != nil {
		return nil, fmt.Errorf("server: room log: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.rooms[core.ChannelRoom(ch)]; r != nil {
		return r, nil // opened meanwhile
	}
	if len(t.rooms) >= s.cfg.MaxChannels {
		return nil, errTooManyChannels
	}
	r := newRoom(ch, b)
	t.rooms[r.name] = r
	if t.follow != nil {
		t.follow(r)
	}
	return r, nil
}

// channels lists the open rooms, the lobby first.
func (s *Server) channels() []*room {
	t := &s.rooms
	t.mu.Lock()
	defer t.mu.Unlock()
	rs := make([]*room, 0, len(t.rooms))
	rs = append(rs, s.lobby)
	for _, r := range t.rooms {
		if r != s.lobby {
			rs = append(rs, r)
		}
	}
	return rs
}

// cursorLocked is sess's cursor in r, or nil if it is not in r.
// sess.mu is held.
func (sess *session) cursorLocked(r *room) *cursor {
	if r == sess.cursor.r {
		return &sess.cursor
	}
	for _, c := range sess.chans {
		if c.r == r {
			return c
		}
	}
	return nil
}

// inLocked reports whether sess is in r. sess.mu is held.
func (sess *session) inLocked(r *room) bool {
	return r == sess.cursor.r || sess.cursorLocked(r) != nil
}

// currentLocked is the room sess's messages go to when they name none.
// sess.mu is held.
func (sess *session) currentLocked() *room {
	if sess.current != nil {
		return sess.current
	}
	return sess.cursor.r
}

// in reports whether sess is in r.
func (sess *session) in(r *room) bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.inLocked(r)
}
