package server

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/udpchat/udpchat/core"
)

// handleV1Data takes a seed client's DATA: in sequence, authentic and new,
// it is handed on and then acknowledged. Only what was accepted is
// acknowledged, so a sender never believes a dropped message arrived.
func (s *Server) handleV1Data(ctx context.Context, codec core.Codec, p *core.Packet, from netip.AddrPort) {
	sess := s.sessions.addr(from)
	switch {
	case sess == nil:
		s.drop(from, "DATA from an address with no session", nil)
		return
	case s.wrongCodec(sess, codec, from):
		return
	case sess.version != 1:
		s.drop(from, "DATA without a session id in a version 2 session", nil)
		return
	case !p.HasSeq:
		s.drop(from, "DATA without seq", nil)
		return
	case s.busy():
		s.drop(from, "server busy: too many messages waiting for the handlers", nil)
		return
	}
	seq := p.Seq // p is the read loop's, and ack runs later, on the worker
	ack := func() { s.write(s.encode(codec, &core.Packet{Type: core.TypeAck, AckSeq: seq, HasAckSeq: true}), from) }
	sess.mu.Lock()
	switch sess.recv.Classify(p.Seq) {
	case core.ArrivalDuplicate:
		// Our ACK was lost and the client sent it again: acknowledge it
		// again, deliver nothing; after the first copy was handed on.
		sess.mu.Unlock()
		s.handOn(ctx, sess, nil, ack)
		return
	case core.ArrivalOutOfOrder:
		sess.mu.Unlock()
		s.drop(from, "DATA out of order", fmt.Errorf("seq %d", p.Seq))
		return
	}
	tag := sess.keys.Tag(p.Payload)
	if sess.tags.Seen(tag) {
		sess.mu.Unlock()
		s.drop(from, "replayed payload", core.ErrReplay)
		return
	}
	plain, err := sess.keys.Open(sess.opened[:0], p.Payload, nil)
	if err != nil {
		sess.mu.Unlock()
		s.drop(from, "DATA failed to open", err)
		return
	}
	sess.opened = keep(plain)
	sess.tags.Add(tag)
	sess.recv.Accept(p.Seq, nil) // stop-and-wait: only this one, now
	sess.reply = nil             // it has the keys
	sess.touch(s.cfg.Now())
	name := sess.name
	sess.mu.Unlock()

	s.handOn(ctx, sess, []*core.Message{{Kind: core.KindChat, From: name, Text: string(plain)}}, ack)
}

// wrongCodec drops, and reports, a datagram for sess in another codec than
// the one the session started in.
func (s *Server) wrongCodec(sess *session, codec core.Codec, from netip.AddrPort) bool {
	if sess.codec == codec {
		return false
	}
	s.drop(from, "datagram in a codec the session did not start in", fmt.Errorf("%s, not %s", codec.Name(), sess.codec.Name()))
	return true
}

// handleV2 takes any packet of a version 2 session. Nothing is believed
// before the payload opens under the packet's own header, and only a fresh
// authentic packet (a new DATA, a newer PING) moves the session to the
// address it came from.
func (s *Server) handleV2(ctx context.Context, codec core.Codec, p *core.Packet, from netip.AddrPort, size int, out *outbox) {
	sess := s.sessions.id(p.Session)
	if sess == nil {
		s.drop(from, "unknown session", fmt.Errorf("sid %016x", p.Session))
		s.unknownSession(codec, p, from, size)
		return
	}
	if s.wrongCodec(sess, codec, from) {
		return
	}
	now := s.cfg.Now()
	sess.mu.Lock()
	if sess.ended {
		sess.mu.Unlock()
		return
	}
	plain, err := sess.keys.Open(sess.opened[:0], p.Payload, sess.scratchAD(p))
	if err != nil {
		sess.mu.Unlock()
		s.drop(from, p.Type.String()+" failed to open", err)
		return
	}
	sess.opened = keep(plain)
	sess.touch(now)
	if !sess.confirmed.Load() {
		// The first authentic packet: the client holds the keys.
		sess.mu.Unlock()
		s.confirm(ctx, sess)
		sess.mu.Lock()
		if sess.ended {
			sess.mu.Unlock()
			return
		}
	}
	switch p.Type {
	case core.TypeData:
		s.handleV2Data(ctx, sess, p, plain, from)
		return // unlocked there
	case core.TypeAck:
		if !p.HasAckSeq {
			break
		}
		s.ackedLocked(sess, sess.snd.Ack(core.Ack{Seq: p.AckSeq, Cum: p.Cum, HasCum: p.HasCum}, now))
		s.caughtUpLocked(sess)
		if s.pollLocked(sess, now, out) {
			sess.mu.Unlock()
			s.endSession(ctx, sess, "timed out")
			return
		}
	case core.TypePing:
		if p.HasSeq && p.Seq > sess.lastPing {
			sess.lastPing = p.Seq
			s.roamLocked(sess, from)
		}
		s.sendSealedLocked(sess, &core.Packet{Type: core.TypePong, Session: sess.id, Seq: p.Seq, HasSeq: p.HasSeq}, plain)
	case core.TypeBye:
		s.sendSealedLocked(sess, &core.Packet{Type: core.TypeBye, Session: sess.id}, nil)
		sess.mu.Unlock()
		s.endSession(ctx, sess, "left")
		return
	default:
		sess.mu.Unlock()
		s.drop(from, "unexpected packet type", errors.New(p.Type.String()))
		return
	}
	sess.mu.Unlock()
}

// handleV2Data is handleV2 for DATA; it is called with sess.mu held and
// releases it.
func (s *Server) handleV2Data(ctx context.Context, sess *session, p *core.Packet, plain []byte, from netip.AddrPort) {
	if !p.HasSeq {
		sess.mu.Unlock()
		s.drop(from, "DATA without seq", nil)
		return
	}
	if s.busy() {
		sess.mu.Unlock()
		s.drop(from, "server busy: too many messages waiting for the handlers", nil)
		return
	}
	seq := p.Seq // p is the read loop's, and ack runs later, on the worker
	ack := func() {
		sess.mu.Lock()
		s.ackLocked(sess, seq)
		sess.mu.Unlock()
	}
	switch sess.recv.Classify(p.Seq) {
	case core.ArrivalDuplicate:
		sess.mu.Unlock()
		s.handOn(ctx, sess, nil, ack)
		return
	case core.ArrivalOutOfOrder:
		sess.mu.Unlock()
		s.drop(from, "DATA beyond the receive window", fmt.Errorf("seq %d", p.Seq))
		return
	}
	// Authentic but malformed is a broken client: the seq is used up, the
	// session goes on, and the sender is told.
	m, err := sess.msgs.DecodeMessage(plain)
	if err != nil {
		s.log.Warn("malformed message", "session", fmt.Sprintf("%016x", sess.id), "err", err)
		m = nil
	}
	ready := sess.recv.Accept(p.Seq, m)
	s.roamLocked(sess, from)
	name := sess.name
	sess.mu.Unlock()

	if err != nil {
		s.notify(sess, core.KindError, "the server could not read your message")
	}
	var msgs []*core.Message
	for _, r := range ready {
		if m, ok := r.(*core.Message); ok && m != nil {
			// The server, not the client, says who sent what and when.
			msgs = append(msgs, &core.Message{Kind: core.KindChat, From: name, Text: m.Text})
		}
	}
	s.handOn(ctx, sess, msgs, ack)
}

// handoff is work for the handler chain: messages from one session to hand
// on, in order, and then the ACK that says they were.
type handoff struct {
	sess *session
	msgs []*core.Message
	ack  func()
}

// handOn runs the handler chain on msgs and then ack, off the read loop
// when Serve runs: a slow or hung plugin then delays chat messages, never
// ACKs, keepalives or handshakes, so no session dies waiting for it. One
// worker keeps the order of arrival, so a session's messages stay in seq
// order and an ACK still means "handed on".
func (s *Server) handOn(ctx context.Context, sess *session, msgs []*core.Message, ack func()) {
	h := handoff{sess, msgs, ack}
	if s.work == nil {
		s.runHandoff(ctx, h)
		return
	}
	s.work <- h // room was checked before the receiver took the message (busy)
}

func (s *Server) runHandoff(ctx context.Context, h handoff) {
	for _, m := range h.msgs {
		s.accept(ctx, h.sess, m)
	}
	h.ack()
}

// busy reports whether the handler chain is so far behind that new DATA
// must wait: dropped unacknowledged, it comes again.
func (s *Server) busy() bool { return s.work != nil && len(s.work) >= cap(s.work)-1 }

// accept hands an authentic message from sess to the handler chain, and
// tells the sender if it was refused.
func (s *Server) accept(ctx context.Context, sess *session, m *core.Message) {
	s.accepted.Add(1)
	m.ID = s.nextMsg.Add(1)
	m.Time = s.cfg.Now()
	m.Origin = sess.id
	var err error
	switch {
	case !utf8.ValidString(m.Text):
		err = &core.Rejection{Reason: "message is not valid UTF-8"}
	case hasControl(m.Text):
		// An escape sequence in a message would drive the readers' terminals.
		err = &core.Rejection{Reason: "message contains control characters"}
	case !sess.limiter.AllowN(m.Time, 1):
		err = &core.Rejection{Reason: fmt.Sprintf("slow down: at most %d messages at once, then %g a second", s.cfg.Burst, float64(s.cfg.Rate))}
	default:
		err = s.chain.HandleMessage(ctx, m)
	}
	if err != nil {
		reason, ok := core.RejectionReason(err)
		if !ok {
			s.log.Error("handler failed", "session", fmt.Sprintf("%016x", sess.id), "err", err)
			reason = "the server could not handle your message"
		}
		s.notify(sess, core.KindError, reason)
	}
}

// roamLocked moves sess to from, after an authentic fresh packet came from
// there (NAT rebinding, a roaming laptop).
func (s *Server) roamLocked(sess *session, from netip.AddrPort) {
	if sess.addr == from {
		return
	}
	old := sess.addr
	sess.addr = from
	s.sessions.move(sess, old)
	s.log.Info("session moved", "session", fmt.Sprintf("%016x", sess.id), "from", old.String(), "to", from.String())
}

// ackLocked acknowledges a version 2 client's DATA, sealed so that nobody
// else can forge it.
func (s *Server) ackLocked(sess *session, seq uint64) {
	s.sendSealedLocked(sess, &core.Packet{Type: core.TypeAck, Session: sess.id, AckSeq: seq, HasAckSeq: true,
		Cum: sess.recv.Cumulative(), HasCum: true}, nil)
}

// sendSealedLocked seals plaintext under p's header and sends p to the
// session's address.
func (s *Server) sendSealedLocked(sess *session, p *core.Packet, plaintext []byte) {
	sealed, err := sess.keys.Seal(sess.sealed[:0], plaintext, sess.scratchAD(p))
	if err != nil {
		s.log.Error("seal failed", "err", err)
		return
	}
	sess.sealed, p.Payload = keep(sealed), sealed
	if dg := s.encode(sess.codec, p); dg != nil {
		s.write(dg, sess.addr)
	}
}

// buildData seals and encodes sess.body as the version 2 DATA with seq, for
// the session's sender, which keeps the datagram to send it again; it runs
// with sess.mu held, inside Push.
func (s *Server) buildData(sess *session, seq uint64) ([]byte, error) {
	p := &sess.pkt
	*p = core.Packet{Type: core.TypeData, Session: sess.id, Seq: seq, HasSeq: true}
	sealed, err := sess.keys.Seal(sess.sealed[:0], sess.body, sess.scratchAD(p))
	if err != nil {
		return nil, err
	}
	sess.sealed, p.Payload = keep(sealed), sealed
	return sess.codec.Append(nil, p)
}

// pollLocked sends what the session's sender has due, and keeps the session
// on the timer list while anything is in flight. It reports whether a
// message was given up on: the client's receiver then waits for what it will
// never get, so the caller ends the session, which tells the room.
func (s *Server) pollLocked(sess *session, now time.Time, out *outbox) (dead bool) {
	if len(sess.held) > 0 && sess.flow.CanSend() {
		if err := s.flushLocked(sess); err != nil {
			s.log.Error("held messages not queued", "to", sess.name, "err", err)
		}
	}
	send, failed, next := sess.snd.Poll(now)
	for _, t := range send {
		if t.Attempt > 1 {
			s.log.Debug("no ACK: retransmitting", "to", sess.name, "attempt", t.Attempt)
		}
		if out.send(s, t.Datagram, sess.addr) {
			s.relayed.Add(1)
		}
	}
	sess.sndNext = next
	if !next.IsZero() && !sess.onTimer {
		// On the timer list until the timer finds it idle: taking it off
		// here, at every ACK, would take the server-wide lock twice for
		// every message to every recipient, against the read loop.
		sess.onTimer = true
		s.pendingMu.Lock()
		s.pending[sess] = struct{}{}
		s.pendingMu.Unlock()
	}
	if len(failed) > 0 {
		s.log.Warn("no ACK after retries", "to", sess.name, "lost", len(failed))
		return true
	}
	return false
}

// hasControl reports whether s holds a control character other than tab.
func hasControl(s string) bool {
	for _, r := range s {
		if r != '\t' && unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// unknownSession tells a client that this server does not know its session
// (it restarted, or ended it), so that it reconnects at once instead of
// after its retries. The answer is an unsealed BYE naming the session: only
// the client and the old server knew the id, so a stranger cannot make a
// client drop a live session with one. It is never larger than what it
// answers, and answers only what could be a client's DATA or PING.
func (s *Server) unknownSession(codec core.Codec, p *core.Packet, from netip.AddrPort, size int) {
	if p.Type != core.TypeData && p.Type != core.TypePing {
		return
	}
	if dg := s.encode(codec, &core.Packet{Type: core.TypeBye, Session: p.Session}); dg != nil && len(dg) <= size {
		s.write(dg, from)
	}
}
