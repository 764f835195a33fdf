package server

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/histogram"
)

// The room is a log (core.RoomLog), and a version 2 recipient is a cursor
// in it: the offset of the next entry it is to be sent. Nothing is copied
// per recipient. When a message is accepted it is appended once; then every
// recipient whose reliability layer has room is sent what it has not had,
// read from the log at its cursor, up to a bundle at a time (fillLocked);
// one whose layer has no room lags, and catches up as its ACKs come. A
// recipient that lags behind the log's retention is told how many it
// missed and goes on from the oldest kept. The server never disconnects a
// recipient for being slow: only silence (IdleTimeout) ends a session.
//
// Messages for one recipient alone (private messages, notices) are not in
// the log: they wait in the session's direct queue, bounded by
// RecipientQueue, and go out before the room's next entries.

// recentSize is how many of its latest appends the server keeps encoded
// (recent), a power of two: a recipient up to this far behind is sent
// them without a round trip to the log and without encoding them again.
// Shared by every recipient, they are a cache, not a copy per recipient.
const recentSize = 1024

// logTimeout bounds a read of the room log made for one session, on the
// read loop or the handler worker, which every other session waits
// behind: a log that does not answer (a JetStream stream electing its
// leader) costs them this, and the session's cursor tries again at its
// next turn.
const logTimeout = time.Second

// logged is an entry the server appended, encoded in every codec it speaks.
// It is immutable once stored in recent.
type logged struct {
	epoch, offset uint64
	enc           *encodings
}

// appendRoom appends m to r's log, stamps it with its offset, remembers
// its encodings in r's recent, and sends it to every recipient in r that
// can take it now: seed clients at once (best effort, as the seed does),
// version 2 ones through their cursors. m.Origin's session is not sent it.
// What other servers append to a shared log reaches the recipients through
// the follower (follow.go) in the same ways.
// fitted is what fitRoom made: its encodings serve if the log gave m the
// offset fitRoom expected.
func (s *Server) appendRoom(ctx context.Context, r *room, m *core.Message, fitted *encodings) error {
	if s.startAppend(ctx, r, m, fitted) {
		return nil // the committer finishes it (commit.go)
	}
	e, err := s.roomLog.Append(ctx, r.name, m)
	s.appends.Add(1)
	if err != nil {
		return fmt.Errorf("server: room log: %w", err)
	}
	return s.appended(ctx, r, m, e, fitted)
}

// appended does for the entry e of r, m as the log took it, what every
// append of this server is followed by: its offset stamped, its encodings
// cached, the head moved, and every recipient in r filled.
func (s *Server) appended(ctx context.Context, r *room, m *core.Message, e core.LogEntry, fitted *encodings) error {
	var err error
	e.Message.ID, e.Message.Room = e.Offset, r.channel
	enc := fitted
	if enc.m.ID != e.Offset {
		if enc, err = s.encodeAll(&e.Message); err != nil {
			return err
		}
	}
	enc.v1Text()
	r.remember(r.epoch.Load(), e.Offset, enc)
	r.advanceHead(e.Offset + 1)
	out := s.newOutbox()
	// Seed clients are sent everything up to the head, in the log's
	// order: entries other servers appended before this one too, which the
	// follower may not have taken in yet.
	s.sendSeeds(ctx, r, out)
	var budget stall // one for the message, however many it waits for
	for _, sess := range s.sessions.all(m.Origin) {
		if sess.version < 2 || r != s.lobby && !sess.in(r) {
			continue
		}
		s.waitFor(ctx, r, sess, out, &budget)
		s.fill(ctx, sess, out)
	}
	budget.stop()
	out.release()
	return nil
}

// encodeAll encodes m for every kind of recipient, in every codec: done once
// per message, not per recipient.
func (s *Server) encodeAll(m *core.Message) (*encodings, error) {
	enc := &encodings{m: m}
	enc.v1Text()
	if s.v2 {
		for _, c := range s.codecs {
			if mc, ok := c.(core.MessageCodec); ok {
				if _, err := enc.in(c, mc); err != nil {
					return nil, fmt.Errorf("server: encode message: %w", err)
				}
			}
		}
	}
	return enc, nil
}

// fill sends sess what its layer has room for, and ends the session if a
// layer that ignores Persist gave up on a message (see pollLocked).
func (s *Server) fill(ctx context.Context, sess *session, out *outbox) {
	if !sess.confirmed.Load() {
		return // it gets nothing of the room before it proves its keys
	}
	sess.mu.Lock()
	dead := !sess.ended && s.pollLocked(sess, s.cfg.Now(), out)
	sess.mu.Unlock()
	if dead {
		s.endSession(ctx, sess, "timed out")
	}
}

// fillLocked pushes to sess's sender, while it has room, its direct
// messages and then the entries of its channels from its cursors on, as
// many to a DATA as a bundle holds. A layer without Flow is pushed to
// until its queue is full. It reports false if a log could not be read:
// the caller has the session polled again in logTimeout. Each DATA's
// messages count as delivered at now, once it is pushed.
func (s *Server) fillLocked(sess *session, now time.Time) (ok bool) {
	if sess.ended || sess.snd == nil || !sess.placedLocked() {
		return true
	}
	// held lives only while the DATA is gathered and pushed, so it is the
	// server's scratch, lent out, not an array every session keeps.
	held := s.helds.Get().(*[][]byte)
	sess.held = (*held)[:0]
	defer func() {
		clear(sess.held)
		*held, sess.held = sess.held[:0], nil
		s.helds.Put(held)
	}()
	var nexts [maxJoined + 1]uint64 // each cursor's place after the DATA
	var latency histogram.Tally     // the DATA's live messages' latencies
	for sess.flow == nil || sess.flow.CanSend() {
		latency.Reset()
		direct, err := s.gatherLocked(sess, nexts[:], &latency, now)
		if err != nil {
			s.log.Error("room log unreadable: the recipient waits", "to", sess.name, "err", err)
			return false
		}
		if len(sess.held) == 0 {
			sess.advanceLocked(nexts[:]) // past entries it is not sent (its own)
			if len(sess.direct) == 0 {
				return true
			}
			continue // the gathering queued a notice (a new epoch): it goes now, not with the next message
		}
		n := len(sess.held)
		if err := s.flushLocked(sess, sess.markLocked(nexts[:])); err != nil {
			// The layer is full (one without Flow): what was gathered
			// is gathered again next time.
			return true
		}
		s.countDelivered(n, &latency)
		clear(sess.direct[:direct])
		if sess.direct = sess.direct[direct:]; len(sess.direct) == 0 {
			sess.direct = nil
		}
		sess.advanceLocked(nexts[:])
	}
	return true
}

// cursors is how many channels sess is in, the lobby included; cursorAt
// is the i-th one's cursor, the lobby's first. sess.mu is held.
func (sess *session) cursors() int { return 1 + len(sess.chans) }

func (sess *session) cursorAt(i int) *cursor {
	if i == 0 {
		return &sess.cursor
	}
	return sess.chans[i-1]
}

// advanceLocked moves each cursor of sess to its place in nexts, as
// gatherLocked left them. sess.mu is held.
func (sess *session) advanceLocked(nexts []uint64) {
	for i := range sess.cursors() {
		sess.cursorAt(i).next = nexts[i]
	}
}

// gatherLocked collects in sess.held the next messages for sess, encoded:
// direct ones first, then its channels' from their cursors on, as many as
// one DATA carries (one, if the codec cannot bundle). The channel it
// starts with turns at each DATA, so that a busy one does not keep the
// others waiting. It returns how many of them are direct, and leaves in
// nexts each cursor's place after the DATA, and in latency the latencies
// of its live messages of the room, sent at now.
func (s *Server) gatherLocked(sess *session, nexts []uint64, latency *histogram.Tally, now time.Time) (direct int, err error) {
	limit := core.MaxBundle
	if sess.bundler == nil {
		limit = 1
	}
	size := 0
	take := func(b []byte, accepted time.Time) bool {
		if n := len(sess.held); n > 0 && (n >= limit || size+len(b)+(n+1)*core.MaxBundleOverhead > s.maxV2) {
			return false
		}
		sess.held = append(sess.held, b)
		size += len(b)
		s.tallyLatency(latency, accepted, now)
		return true
	}
	for _, b := range sess.direct {
		if !take(b, time.Time{}) {
			break
		}
	}
	direct = len(sess.held)
	n := sess.cursors()
	for i := range n {
		nexts[i] = sess.cursorAt(i).next
	}
	first := sess.turn % n
	sess.turn++
	for i := range n {
		j := (first + i) % n
		full := false
		nexts[j], full, err = s.gatherRoomLocked(sess, sess.cursorAt(j), limit, take)
		if err != nil {
			clear(sess.held)
			sess.held = sess.held[:0]
			return 0, err
		}
		if full {
			break
		}
	}
	return direct, nil
}

// gatherRoomLocked takes what it can of c's channel from c's cursor on,
// and returns the cursor after what it took, and whether the DATA is full.
// take is given each message's encoding, and its acceptance time if it is
// live (acceptedAt).
func (s *Server) gatherRoomLocked(sess *session, c *cursor, limit int, take func([]byte, time.Time) bool) (next uint64, full bool, err error) {
	r, next := c.r, c.next
	// A cursor in another epoch than the room's reads the log even at
	// the head: the read's bounds tell it the log started again (takeBatch).
	for len(sess.held) < limit && (next < r.head.Load() || c.epoch != r.epoch.Load()) {
		if l := r.cached(c.epoch, next); l != nil {
			b, send := s.render(sess, c, l.enc.m, l.enc, next)
			if send && !take(b, c.acceptedAt(l.enc.m, next)) {
				return next, true, nil
			}
			next++
			continue
		}
		// Not among the recent appends: read a batch from the log.
		var bounds core.LogBounds
		batch := s.entries.Get().(*[]core.LogEntry)
		ctx, cancel := context.WithTimeout(context.Background(), logTimeout)
		*batch, bounds, err = s.readLog(ctx, r.name, next, limit-len(sess.held), (*batch)[:0])
		cancel()
		if err != nil {
			s.entries.Put(batch)
			return c.next, false, err
		}
		empty := len(*batch) == 0
		next, full = s.takeBatch(sess, c, *batch, bounds, next, take)
		clear(*batch)
		s.entries.Put(batch) // another goroutine may take it from here on
		if full || empty {
			break
		}
	}
	return next, full, nil
}

// takeBatch takes what it can of entries read from c's log at next, after
// checking the bounds they came with, and returns the cursor after what it
// took, and whether take refused one (the DATA is full).
func (s *Server) takeBatch(sess *session, c *cursor, batch []core.LogEntry, b core.LogBounds, next uint64, take func([]byte, time.Time) bool) (uint64, bool) {
	if b.Epoch != c.epoch {
		// The log was lost and started again: offsets name other
		// messages now. The client learns the lobby's new epoch as it
		// did the first, and says it may have missed messages.
		s.log.Warn("room log has a new epoch: the recipient starts again at its head", "to", sess.name, "channel", c.r.label())
		c.epoch, c.liveFrom = b.Epoch, b.Next
		if c == &sess.cursor {
			s.queueDirectLocked(sess, s.sessionMessage(sess), nil)
		} else {
			s.noticeLocked(sess, fmt.Sprintf("%s: messages may have been missed: the channel's log started again", c.r.label()))
		}
		return b.Next, false
	}
	if len(batch) > 0 && batch[0].Offset > next {
		missed := batch[0].Offset - next
		s.log.Warn("recipient fell behind the room log's retention", "to", sess.name, "channel", c.r.label(), "missed", missed)
		s.gaps.Add(1)
		s.missed.Add(missed)
		where := ""
		if c.r != s.lobby {
			where = c.r.label() + ": "
		}
		s.noticeLocked(sess, fmt.Sprintf("%smissed %d message%s: you fell behind what the room keeps", where, missed, plural(int(min(missed, math.MaxInt32)))))
		next = batch[0].Offset
	}
	for i := range batch {
		m := &batch[i].Message
		b, send := s.render(sess, c, m, nil, next)
		if send && !take(b, c.acceptedAt(m, next)) {
			return next, true
		}
		next++
	}
	return next, false
}

// render is the encoding of the entry m of c's channel, at offset off,
// for sess, and false if sess is not sent it: its own messages (from this
// session or the one it resumed), and in the history a newcomer is shown,
// anything but chat. enc holds m's encodings if the server made them.
func (s *Server) render(sess *session, c *cursor, m *core.Message, enc *encodings, off uint64) ([]byte, bool) {
	if sess.skipsLocked(m) {
		return nil, false
	}
	if off < c.liveFrom {
		if m.Kind != core.KindChat && m.Kind != core.KindAction {
			return nil, false
		}
		h := *m
		h.Kind, h.ID, h.Room, h.Origin = core.KindHistory, off, c.r.channel, 0
		return s.encodeFor(sess, &h)
	}
	if enc != nil {
		if b, ok := enc.get(sess.codec.Name()); ok {
			return b, true
		}
	}
	e := *m
	e.ID, e.Room, e.Origin = off, c.r.channel, 0
	return s.encodeFor(sess, &e)
}

// skipsLocked reports whether sess is not sent m of the room: its own
// (from this session or the one it resumed), or from someone it ignores.
// sess.mu is held.
func (sess *session) skipsLocked(m *core.Message) bool {
	return m.Origin != 0 && (m.Origin == sess.id || m.Origin == sess.resumed[0] || m.Origin == sess.resumed[1] || sess.ignoresLocked(m.From))
}

// encodeFor encodes m in sess's codec, logging what cannot be.
func (s *Server) encodeFor(sess *session, m *core.Message) ([]byte, bool) {
	b, err := sess.msgs.AppendMessage(nil, m)
	if err != nil {
		s.log.Error("encode message", "to", sess.name, "err", err)
		return nil, false
	}
	return b, true
}

// openRoom opens the room log if Config gives none, learns where it stands,
// and draws the key of resume tokens.
func (s *Server) openRoom() error {
	s.roomLog = s.cfg.RoomLog
	if s.roomLog == nil {
		d, err := core.RoomLogs.Lookup("memory")
		if err != nil {
			return fmt.Errorf("server: no room log given, and %w (import github.com/udpchat/udpchat/standard)", err)
		}
		if s.roomLog, err = d.Open(context.Background(), core.RoomLogConfig{}); err != nil {
			return fmt.Errorf("server: open the room log: %w", err)
		}
		s.ownLog = true
	}
	b, err := s.roomLog.Bounds(context.Background(), core.LobbyRoom)
	if err != nil {
		return fmt.Errorf("server: room log: %w", err)
	}
	s.lobby = newRoom(core.Lobby, b)
	s.rooms.rooms = map[string]*room{s.lobby.name: s.lobby}
	s.entries.New = func() any { return new([]core.LogEntry) }
	s.helds.New = func() any { return new([][]byte) }
	if s.cfg.ResumeKey != nil {
		if len(s.cfg.ResumeKey) < 32 {
			return fmt.Errorf("server: a resume key of %d bytes; it needs at least 32", len(s.cfg.ResumeKey))
		}
		s.resumeKey = s.cfg.ResumeKey
		return nil
	}
	s.resumeKey = make([]byte, 32)
	if _, err := io.ReadFull(s.cfg.Rand, s.resumeKey); err != nil {
		return fmt.Errorf("server: resume key: %w", err)
	}
	return nil
}

// sessionMessage is the first message of a version 2 session: the room
// log's epoch and the session's resume token (core.KindSession).
func (s *Server) sessionMessage(sess *session) *core.Message {
	token := core.ResumeToken(s.resumeKey, sess.id)
	return &core.Message{Kind: core.KindSession, ID: sess.epoch, From: core.SystemSender,
		Text: hex.EncodeToString(token[:]), Time: s.cfg.Now()}
}
