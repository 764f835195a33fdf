package server

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/udpchat/udpchat/core"
)

// deliver is the last handler of the chain: it delivers m to its recipient,
// or to every session but its sender, and remembers chat for newcomers.
func (s *Server) deliver(ctx context.Context, m *core.Message) error {
	enc, err := s.fit(m)
	if err != nil {
		return err
	}
	if m.Kind == core.KindPrivate {
		to := s.sessions.nick(m.To)
		if to == nil || !to.confirmed.Load() {
			return &core.Rejection{Reason: fmt.Sprintf("no such user: %s", m.To)}
		}
		s.deliverTo(to, m, enc, nil)
		return nil
	}
	if m.Kind == core.KindChat || m.Kind == core.KindAction {
		s.history.add(m)
	}
	if s.joinPending(m.Origin) {
		// Nobody hears from someone before hearing that they joined.
		s.flushPresence(ctx, s.cfg.Now(), true)
	}
	out := s.newOutbox()
	for _, sess := range s.sessions.all(m.Origin) {
		s.waitFor(ctx, sess, out)
		s.deliverTo(sess, m, enc, out)
	}
	out.release()
	return nil
}

// Back-pressure. A version 2 recipient whose queue is a quarter full makes
// the handler worker wait, up to stallMax, for it to catch up: the senders'
// ACKs wait with it, so that senders slow down to what the room can take,
// rather than fill the queues until messages are lost. One that does not
// catch up in time is marked slow and not waited for again until its queue
// is down to an eighth; if it fills, the session ends (deliverTo). NATS
// stalls a fast producer for a slow consumer in the same way.
const stallMax = 100 * time.Millisecond

func (s *Server) stallAt() int { return max(s.cfg.RecipientQueue/4, 1) }

// waitFor stalls the handler worker while sess is far behind, as above. It
// runs only on the worker while Serve runs: ACKs come in on the read loop,
// which must never wait.
func (s *Server) waitFor(ctx context.Context, sess *session, out *outbox) {
	if s.work == nil || sess.space == nil {
		return
	}
	var timer *time.Timer
	for {
		sess.mu.Lock()
		behind := !sess.ended && !sess.slow && sess.confirmed.Load() && sess.backlog >= s.stallAt()
		sess.mu.Unlock()
		if !behind {
			break
		}
		if timer == nil {
			out.flush() // what the recipient waits for may be in it
			timer = time.NewTimer(stallMax)
		}
		select {
		case <-sess.space:
			continue
		case <-ctx.Done():
		case <-timer.C:
			sess.mu.Lock()
			sess.slow = true
			sess.mu.Unlock()
			s.log.Warn("recipient far behind: not waiting for it", "to", sess.name, "waited", stallMax)
		}
		break
	}
	if timer != nil {
		timer.Stop()
	}
}

// caughtUpLocked wakes a worker stalled on sess once an ACK has made room.
func (s *Server) caughtUpLocked(sess *session) {
	if sess.space == nil {
		return
	}
	n := sess.backlog
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
	by map[string][]byte // by codec name: a codec's type need not be comparable
	v1 []byte            // "<sender> text", for seed clients
}

// v1Text returns m as a seed client reads it, made on first use.
func (e *encodings) v1Text() []byte {
	if e.v1 == nil {
		e.v1 = []byte(e.m.V1Text())
	}
	return e.v1
}

// in returns m encoded by c, encoding it on first use.
func (e *encodings) in(c core.Codec, mc core.MessageCodec) ([]byte, error) {
	if b, ok := e.by[c.Name()]; ok {
		return b, nil
	}
	b, err := mc.AppendMessage(nil, e.m)
	if err != nil {
		return nil, err
	}
	if e.by == nil {
		e.by = make(map[string][]byte)
	}
	e.by[c.Name()] = b
	return b, nil
}

// fit checks that m fits in a datagram for every kind of recipient, in every
// codec, and returns its encodings.
func (s *Server) fit(m *core.Message) (*encodings, error) {
	enc := &encodings{m: m}
	over := len(m.V1Text()) - s.maxV1
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

// deliverTo sends m to one session: sealed for its version 2 client and
// queued for reliable delivery, or sealed as "<sender> text" for a seed
// client, best effort as the seed does. enc holds m's encodings, or is nil
// to make them here.
func (s *Server) deliverTo(sess *session, m *core.Message, enc *encodings, out *outbox) {
	confirmed := sess.confirmed.Load()
	if !confirmed && sess.version < 2 {
		return
	}
	sess.mu.Lock()
	if sess.ended {
		sess.mu.Unlock()
		return
	}
	if sess.version < 2 {
		defer sess.mu.Unlock()
		if enc == nil {
			enc = &encodings{m: m}
		}
		sealed, err := sess.keys.Seal(sess.sealed[:0], enc.v1Text(), nil)
		if err != nil {
			s.log.Error("seal failed", "err", err)
			return
		}
		sess.sealed = keep(sealed)
		sess.pkt = core.Packet{Type: core.TypeData, Payload: sealed}
		if dg := s.encode(sess.codec, &sess.pkt); dg != nil && out.send(s, dg, sess.addr) {
			s.relayed.Add(1)
		}
		return
	}
	if enc == nil {
		enc = &encodings{m: m}
	}
	v2, err := enc.in(sess.codec, sess.msgs)
	if err != nil {
		sess.mu.Unlock()
		s.log.Error("encode message", "err", err)
		return
	}
	err = s.queueLocked(sess, v2)
	dead, behind := false, false
	switch {
	case err != nil:
		// A client a whole queue behind is dead or drowning: the others
		// do not wait for it, and it is told, so that it can start again
		// and be shown the history.
		s.log.Warn("message not queued: ending the session", "to", sess.name, "err", err)
		behind = true
	case confirmed:
		dead = s.pollLocked(sess, s.cfg.Now(), out)
		// Unconfirmed, the address may be a spoofed victim's: the message
		// waits in the queue until the client proves it holds the keys.
	}
	sess.mu.Unlock()
	switch {
	case dead:
		s.endSession(context.Background(), sess, "timed out")
	case behind:
		s.endSession(context.Background(), sess, "fell too far behind")
	}
}

// notify sends the server's own message to one session.
func (s *Server) notify(sess *session, kind core.MessageKind, text string) {
	m := &core.Message{Kind: kind, ID: s.nextMsg.Add(1), From: core.SystemSender, Text: text, Time: s.cfg.Now()}
	enc, err := s.fitNotice(m)
	if err != nil {
		s.log.Error("notice does not fit", "err", err)
		return
	}
	s.deliverTo(sess, m, enc, nil)
}

// fitNotice shortens the text of the server's own message until it fits in
// a datagram: a notice may quote what a client sent ("unknown command
// /xxxx…"), and one too large to send would never be delivered, holding up
// every message after it.
func (s *Server) fitNotice(m *core.Message) (*encodings, error) {
	for {
		enc, err := s.fit(m)
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

// announce tells every session but except something about the room.
func (s *Server) announce(_ context.Context, text string, except uint64) {
	m := &core.Message{Kind: core.KindSystem, ID: s.nextMsg.Add(1), From: core.SystemSender, Text: text, Time: s.cfg.Now()}
	enc, err := s.fitNotice(m)
	if err != nil {
		s.log.Error("announcement does not fit", "err", err)
		return
	}
	out := s.newOutbox()
	for _, sess := range s.sessions.all(except) {
		s.deliverTo(sess, m, enc, out)
	}
	out.release()
}
