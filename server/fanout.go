package server

import (
	"context"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/udpchat/udpchat/core"
)

// deliver is the last handler of the chain: it appends m to the room's
// log, which delivers it to every session but its sender, or sends a
// private message to its recipient alone.
func (s *Server) deliver(ctx context.Context, m *core.Message) error {
	if context.Cause(ctx) == errHandlerDeadline {
		// The handlers took the message past its deadline: it is refused
		// as busy, not delivered late.
		return errHandlerDeadline
	}
	if m.Kind == core.KindPrivate {
		enc, err := s.fit(m)
		if err != nil {
			return err
		}
		to := s.sessions.nick(m.To)
		if to == nil && s.dir != nil {
			return s.sendElsewhere(ctx, m)
		}
		if to == nil || !to.confirmed.Load() {
			return noSuchUser(m.To)
		}
		return s.sendPrivate(ctx, to, m, enc)
	}
	r := s.lobby
	if m.Room != "" {
		if r = s.room(m.Room); r == nil {
			return &core.Rejection{Reason: fmt.Sprintf("no channel %s", m.Room)}
		}
	}
	if from := s.sessions.id(m.Origin); from != nil {
		if why := s.muted(r, from); why != "" {
			return &core.Rejection{Reason: why}
		}
	}
	enc, err := s.fitRoom(r, m)
	if err != nil {
		return err
	}
	if s.joinPending(m.Origin) {
		// Nobody hears from someone before hearing that they joined.
		s.flushPresence(ctx, s.cfg.Now(), true)
	}
	return s.appendRoom(ctx, r, m, enc)
}

// idMargin bounds how many more bytes the largest ID takes in a message's
// encoding than any other ID: 20 decimal digits and a field name in JSON,
// ten bytes of varint and a tag in protobuf.
const idMargin = 32

// fitRoom is fit for a message of r, whose ID will be its offset.
// It encodes m with the offset the log's next append is expected to get,
// so that appendRoom need not encode it again when it does get it. Near the
// limit it measures m with the largest ID too, so that no offset the log
// gives it (another writer may append first) makes it too long.
func (s *Server) fitRoom(r *room, m *core.Message) (*encodings, error) {
	c := *m
	c.ID = r.head.Load() + uint64(max(s.inFlight.Load(), 0)) // behind the appends under way
	enc, err := s.fit(&c)
	if err != nil || enc.room() > s.maxV2-idMargin {
		c.ID = math.MaxUint64
		if _, err := s.fit(&c); err != nil {
			return nil, err
		}
	}
	return enc, nil
}

// Back-pressure. A version 2 recipient whose cursor is a quarter of
// RecipientQueue behind the room's head makes the handler worker wait for it
// to catch up: the senders' ACKs wait with it, so that senders slow down to
// what the room can take rather than run the log past what it keeps. The
// wait has one budget per message, stallMax, shared by every recipient the
// message waits for: sixty recipients that stop acknowledging at once cost
// the room one stallMax, not sixty. One that does not catch up within what is
// left of the budget (none, once it is spent) is marked slow and not waited
// for again until it is down to an eighth; it lags, and is told what it
// missed if it falls behind the log's retention, but it stays connected.
// NATS stalls a fast producer for a slow consumer in the same way.
const stallMax = 100 * time.Millisecond

func (s *Server) stallAt() uint64 { return uint64(max(s.cfg.RecipientQueue/4, 1)) }

// lag is how many of its channel's entries c has not been sent.
func (c *cursor) lag() uint64 {
	if head := c.r.head.Load(); head > c.next && c.placedLocked() {
		return head - c.next
	}
	return 0
}

// lagLocked is how far sess is behind in the channel it lags most in.
func (s *Server) lagLocked(sess *session) uint64 {
	var n uint64
	for i := range sess.cursors() {
		n = max(n, sess.cursorAt(i).lag())
	}
	return n
}

// stall is one message's budget for waiting on its recipients: its timer
// starts at the first wait, and every later wait for the same message
// takes what is left of it.
type stall struct {
	timer *time.Timer
	spent bool
}

// stop releases the budget's timer.
func (b *stall) stop() {
	if b.timer != nil {
		b.timer.Stop()
	}
}

// waitFor stalls the handler worker while sess is far behind, as above,
// within what is left of budget. It runs only on the worker while Serve
// runs: ACKs come in on the read loop, which must never wait.
func (s *Server) waitFor(ctx context.Context, r *room, sess *session, out *outbox, budget *stall) {
	if s.work == nil || sess.version < 2 {
		return
	}
	for {
		sess.mu.Lock()
		c := sess.cursorLocked(r)
		behind := c != nil && !sess.ended && !sess.slow && sess.confirmed.Load() && c.lag() >= s.stallAt()
		if behind && budget.spent {
			sess.slow = true // the message waited its budget for others
		}
		if behind && sess.space == nil {
			sess.space = make(chan struct{}, 1) // made by the first stall: most sessions never lag
		}
		space := sess.space
		sess.mu.Unlock()
		if behind && budget.spent {
			s.log.Warn("recipient far behind: not waiting for it", "to", sess.name, "budget spent", stallMax)
		}
		if !behind || budget.spent {
			return
		}
		if budget.timer == nil {
			out.flush() // what the recipient waits for may be in it
			budget.timer = time.NewTimer(stallMax)
		}
		select {
		case <-space:
			continue
		case <-ctx.Done():
		case <-budget.timer.C:
			budget.spent = true
			sess.mu.Lock()
			sess.slow = true
			sess.mu.Unlock()
			s.log.Warn("recipient far behind: not waiting for it", "to", sess.name, "waited", stallMax)
		}
		return
	}
}

// caughtUpLocked wakes a worker stalled on sess once an ACK has let it
// move on.
func (s *Server) caughtUpLocked(sess *session) {
	if sess.space == nil {
		return
	}
	n := s.lagLocked(sess)
	if sess.slow && n <= s.stallAt()/2 {
		sess.slow = false
	}
	if n < s.stallAt() {
		select {
		case sess.space <- struct{}{}:
		default:
		}
	}
}

// encodings holds a message's version 2 encoding in each codec the server
// speaks, made once for all the recipients that speak it.
type encodings struct {
	m  *core.Message
	by []encoded // a server speaks a codec or two: a list is smaller than a map
	v1 []byte    // "<sender> text", for seed clients
}

// encoded is a message in one codec, named: a codec's type need not be
// comparable.
type encoded struct {
	codec string
	b     []byte
}

// get returns the encoding in the codec named codec, if made.
func (e *encodings) get(codec string) ([]byte, bool) {
	for _, x := range e.by {
		if x.codec == codec {
			return x.b, true
		}
	}
	return nil, false
}

// room is the length of the longest version 2 encoding made.
func (e *encodings) room() int {
	n := 0
	for _, x := range e.by {
		n = max(n, len(x.b))
	}
	return n
}

// v1Text returns m as a seed client reads it, made on first use.
func (e *encodings) v1Text() []byte {
	if e.v1 == nil {
		e.v1 = e.m.AppendV1Text(nil)
	}
	return e.v1
}

// in returns m encoded by c, encoding it on first use.
func (e *encodings) in(c core.Codec, mc core.MessageCodec) ([]byte, error) {
	if b, ok := e.get(c.Name()); ok {
		return b, nil
	}
	b, err := mc.AppendMessage(nil, e.m)
	if err != nil {
		return nil, err
	}
	e.by = append(e.by, encoded{c.Name(), b})
	return b, nil
}

// fit checks that m fits in a datagram for every kind of recipient, in every
// codec, and returns its encodings.
func (s *Server) fit(m *core.Message) (*encodings, error) {
	enc := &encodings{m: m}
	over := len(enc.v1Text()) - s.maxV1
	if s.v2 {
		for _, c := range s.codecs {
			if mc, ok := c.(core.MessageCodec); ok {
				b, err := enc.in(c, mc)
				if err != nil {
					return nil, fmt.Errorf("core: encode message: %w", err)
				}
				over = max(over, len(b)-s.maxV2)
			}
		}
	}
	if over > 0 {
		return nil, &core.Rejection{Reason: fmt.Sprintf("message too long: %d bytes, at most %d fit in a datagram",
			len(m.Text), len(m.Text)-over)}
	}
	return enc, nil
}

// sendDirect sends m to sess alone: sealed as "<sender> text" for a seed
// client, best effort as the seed does, or queued for reliable delivery to
// a version 2 client. enc holds m's encodings, or is nil to make them here.
// It fails only if the version 2 client has too many messages waiting.
func (s *Server) sendDirect(ctx context.Context, sess *session, m *core.Message, enc *encodings) error {
	if sess.version < 2 {
		if enc == nil {
			enc = &encodings{m: m}
		}
		s.sendV1(sess, enc, nil)
		return nil
	}
	sess.mu.Lock()
	if sess.ended {
		sess.mu.Unlock()
		return nil
	}
	err := s.queueDirectLocked(sess, m, enc)
	sess.mu.Unlock()
	if err != nil {
		s.log.Warn("message not queued", "to", sess.name, "err", err)
		return err
	}
	s.fill(ctx, sess, nil)
	return nil
}

// sendV1 seals m as a seed client reads it and sends it, once: version 1
// has no reliable delivery from the server. A message of the room (its ID
// an offset) goes only past what the client's catch-up sent
// (sendV1Catchup), which it must follow, not interleave with; before the
// catch-up (sess.next still 0) none goes, since the catch-up will carry it.
// Without out, while Serve runs, it goes through the session's seed lane,
// behind the room's messages given to it before, and the session's ACKs
// wait for it (seedlanes.go).
func (s *Server) sendV1(sess *session, enc *encodings, out *outbox) {
	if !sess.confirmed.Load() {
		return
	}
	if out == nil && s.lanes != nil {
		sess.laneDirect.Add(1) // before the push: an ACK given after this call must see it
		if s.lanes.laneOf(sess).push(seedJob{kind: seedOne, text: enc.v1Text(), id: enc.m.ID,
			lobby: enc.m.Room == "", origin: enc.m.Origin, one: sess}, false) {
			return
		}
		sess.laneDirect.Add(-1)
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.ended || v1Skips(sess, enc.m.ID, enc.m.Room == "") {
		return
	}
	s.sendV1Locked(sess, enc, out)
}

// sendV1Locked is sendV1 with sess.mu held, for whatever it is given.
func (s *Server) sendV1Locked(sess *session, enc *encodings, out *outbox) {
	sc := s.egressScratch()
	defer s.egress.Put(sc)
	sealed, err := sess.keys.Seal(sc.sealed[:0], enc.v1Text(), nil)
	if err != nil {
		s.log.Error("seal failed", "err", err)
		return
	}
	sc.sealed = sealed
	sc.pkt = core.Packet{Type: core.TypeData, Payload: sealed}
	if dg := s.encode(sess.codec, &sc.pkt); dg != nil && out.send(s, dg, sess.addr) {
		s.relayed.Add(1)
		s.delivered.Add(1)
	}
}

// notify sends the server's own message to one session.
func (s *Server) notify(sess *session, kind core.MessageKind, text string) {
	s.notifyIn(sess, s.lobby, kind, text)
}

// notifyIn is notify for a notice about channel r, which says so (Room),
// so that a client showing channels apart shows it in r's.
func (s *Server) notifyIn(sess *session, r *room, kind core.MessageKind, text string) {
	m := &core.Message{Kind: kind, From: core.SystemSender, Room: r.channel, Text: text, Time: s.cfg.Now()}
	enc, err := s.fitNotice(m, s.fit)
	if err != nil {
		s.log.Error("notice does not fit", "err", err)
		return
	}
	_ = s.sendDirect(context.Background(), sess, m, enc) // logged there
}

// fitNotice shortens the text of the server's own message until it fits in
// a datagram: a notice may quote what a client sent ("unknown command
// /xxxx…"), and one too large to send would never be delivered, holding up
// every message after it.
func (s *Server) fitNotice(m *core.Message, fit func(*core.Message) (*encodings, error)) (*encodings, error) {
	for {
		enc, err := fit(m)
		if _, tooLong := core.RejectionReason(err); !tooLong || len(m.Text) < 16 {
			return enc, err
		}
		cut := len(m.Text) * 3 / 4
		for cut > 0 && !utf8.RuneStart(m.Text[cut]) {
			cut--
		}
		m.Text = m.Text[:cut] + "…"
	}
}

// announce tells r something, through its log: every session in it but
// except hears it (the one that joined, for "alice joined").
func (s *Server) announce(ctx context.Context, r *room, text string, except uint64) {
	m := &core.Message{Kind: core.KindSystem, From: core.SystemSender, Room: r.channel, Text: text, Time: s.cfg.Now(), Origin: except}
	enc, err := s.fitNotice(m, func(m *core.Message) (*encodings, error) { return s.fitRoom(r, m) })
	if err != nil {
		s.log.Error("announcement does not fit", "err", err)
		return
	}
	if err := s.appendRoom(ctx, r, m, enc); err != nil {
		s.log.Error("announcement not made", "err", err)
	}
}
