package server

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

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
