package server

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/udpchat/udpchat/core"
)

// maxV1Skip bounds how far past the expected seq a version 1 DATA may be
// and still be taken (see handleV1Data). A seed client skips one seq for each
// message it gave up on, after six sends over 12 s: 64 in a row is 13
// minutes of outage with its user typing all along. Further ahead, the DATA
// is dropped, as is one a whole window ahead on any layer.
const maxV1Skip = 64

// handleV1Data takes a seed client's DATA: authentic and new, it is handed
// on and then acknowledged. Only what was accepted is acknowledged, so a
// sender never believes a dropped message arrived.
//
// A seed client gives up on a DATA after its retries (an outage of ten
// seconds) and sends its next message with the next seq: it never goes back.
// So a seq past the expected one (by at most maxV1Skip) means that the ones
// between are lost for good, and it is accepted: the expected seq moves on
// past it and the gap is logged. Waiting for the lost seq, as stop-and-wait
// does, would drop every later message of that client until it restarts.
//
// This lives here, in the version 1 path, and not in the stop-and-wait
// layer: a Receiver's contract is that a seq past the expected one cannot be
// taken yet, and that holds for every peer that follows the layer (udpchat's
// own clients, which start a new session after giving up, and version 2,
// where the header is authenticated). Skipping is a seed client's way, on a
// header nobody authenticates, so the version 1 path decides it, after the
// payload proved fresh and authentic, and moves the Receiver on by
// accepting the lost seqs as empty (stop-and-wait has no other way to move).
//
// The seq is not covered by the version 1 MAC, so anyone who recorded a
// payload can send it again under a seq ahead. Nothing moves before the
// payload passed the same checks as one at the expected seq: its tag must
// not be among the session's recent ones (internal/replay), and it must
// open. A recorded payload the session still remembers is refused whatever
// its seq, and the expected seq stays where it was. Only one older than the
// tags remembered gets through, as it already did at the expected seq; ahead
// of it, it can make the client's next maxV1Skip messages look like
// retransmissions (ACKed, not relayed). Version 2 binds the seq into the MAC.
func (s *Server) handleV1Data(ctx context.Context, codec core.Codec, p *core.Packet, from netip.AddrPort) {
	sess := s.sessions.addr(from)
	switch {
	case sess == nil:
		s.drop(from, DropNoSession, "DATA from an address with no session", nil)
		return
	case s.wrongCodec(sess, codec, from):
		return
	case sess.version != 1:
		s.drop(from, DropMalformed, "DATA without a session id in a version 2 session", nil)
		return
	case !p.HasSeq:
		s.drop(from, DropMalformed, "DATA without seq", nil)
		return
	case s.busy():
		s.drop(from, DropBusy, "server busy: too many messages waiting for the handlers", nil)
		return
	}
	seq := p.Seq // p is the read loop's, and ack runs later, on the worker
	// A version 1 ACK has no room for a verdict: it says "handed on", and a
	// refusal reaches the sender only as a notice, which goes first: if
	// one waits on the session's seed lane, the ACK goes behind it.
	ack := func(seq uint64, _ string) {
		if sess.laneDirect.Load() > 0 && s.lanes.laneOf(sess).push(seedJob{kind: seedAck, one: sess, ack: seq, addr: from}, false) {
			return
		}
		s.write(s.encode(codec, &core.Packet{Type: core.TypeAck, AckSeq: seq, HasAckSeq: true}), from)
	}
	opened := s.openScratch()
	defer s.opens.Put(opened)
	sess.mu.Lock()
	switch sess.recv.Classify(p.Seq) {
	case core.ArrivalDuplicate:
		// Our ACK was lost and the client sent it again: acknowledge it
		// again, deliver nothing; after the first copy was handed on. But
		// only if it is the client's: the seq is not under the MAC, and a
		// duplicate seq with any junk payload was answered unchecked, an
		// ACK for every forged datagram. A seed client may seal a
		// retransmission afresh, so the payload must open, not match.
		if _, ok := s.openV1Locked(sess, p, opened, from, "duplicate DATA failed to open"); !ok {
			return
		}
		s.answerDuplicateLocked(ctx, sess, from, handoff{sess: sess, seq: seq, ack: ack})
		return
	case core.ArrivalOutOfOrder:
		if expected := sess.recv.Cumulative(); p.Seq < expected || p.Seq-expected > maxV1Skip {
			sess.mu.Unlock()
			s.drop(from, DropWindow, "DATA too far ahead", fmt.Errorf("seq %d, expected %d", p.Seq, expected))
			return
		}
	}
	tag := sess.keys.Tag(p.Payload)
	if sess.tags.Seen(tag) {
		sess.mu.Unlock()
		s.drop(from, DropReplay, "replayed payload", core.ErrReplay)
		return
	}
	plain, ok := s.openV1Locked(sess, p, opened, from, "DATA failed to open")
	if !ok {
		return
	}
	sess.tags.Add(tag)
	expected := sess.recv.Cumulative()
	for seq := expected; seq < p.Seq; seq++ {
		sess.recv.Accept(seq, nil) // lost for good: the client gave up on it
	}
	sess.recv.Accept(p.Seq, nil) // stop-and-wait: only this one, now
	sess.reply = nil             // it has the keys
	sess.touch(s.cfg.Now())
	sess.mu.Unlock()
	if !sess.confirmed.Load() {
		// Its first authentic DATA: the address is its own. Only now is
		// it told of the room (history) and the room of it, before its
		// message, so that nobody hears from it before it joined.
		s.confirm(ctx, sess)
	}
	sess.mu.Lock()
	name := sess.name
	sess.mu.Unlock()
	if p.Seq > expected {
		s.log.Warn("seed client moved on: messages lost", "addr", from.String(), "skipped", p.Seq-expected,
			"expected", expected, "seq", p.Seq)
	}

	s.handOn(ctx, handoff{sess: sess, msgs: []*core.Message{{Kind: core.KindChat, From: name, Text: string(plain)}},
		first: seq, seq: seq, ack: ack})
}

// openV1Locked opens a version 1 DATA's payload in the scratch opened.
// It is called with sess.mu held; if the payload does not open, it
// releases it and drops the DATA, for why.
func (s *Server) openV1Locked(sess *session, p *core.Packet, opened *[]byte, from netip.AddrPort, why string) ([]byte, bool) {
	plain, err := sess.keys.Open((*opened)[:0], p.Payload, nil)
	if err != nil {
		sess.mu.Unlock()
		s.drop(from, DropUnauthentic, why, err)
		return nil, false
	}
	*opened = plain
	return plain, true
}

// openScratch is where a packet's payload is opened: the server's, pooled,
// since the plaintext is done with when the read loop is done with the
// packet (what is kept of it is decoded, copied), and an idle session
// would otherwise keep the largest payload it was ever sent. The caller
// puts it back.
func (s *Server) openScratch() *[]byte {
	if b, ok := s.opens.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

// handleV2 takes any packet of a version 2 session. Nothing is believed
// before the payload opens under the packet's own header. A packet from an
// address other than the session's is handled all the same, but does not
// move the session: a fresh one starts the validation of its address, and
// only the echo of the challenge, from there, moves it (path.go).
func (s *Server) handleV2(ctx context.Context, codec core.Codec, p *core.Packet, from netip.AddrPort, size int, out *outbox) {
	sess := s.sessions.id(p.Session)
	if sess == nil {
		s.drop(from, DropNoSession, "unknown session", fmt.Errorf("sid %016x", p.Session))
		s.unknownSession(codec, p, from, size)
		return
	}
	if s.wrongCodec(sess, codec, from) {
		return
	}
	now := s.cfg.Now()
	opened := s.openScratch()
	defer s.opens.Put(opened)
	sess.mu.Lock()
	if sess.ended {
		sess.mu.Unlock()
		return
	}
	plain, err := sess.keys.Open((*opened)[:0], p.Payload, sess.scratchAD(p))
	if err != nil {
		sess.mu.Unlock()
		s.drop(from, DropUnauthentic, p.Type.String()+" failed to open", err)
		return
	}
	*opened = plain
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
	s.pathLocked(sess, p, from, size)
	switch p.Type {
	case core.TypeData:
		s.handleV2Data(ctx, sess, p, plain, from)
		return // unlocked there
	case core.TypeAck:
		if !p.HasAckSeq {
			break
		}
		// The plaintext of a client's ACK may advertise its window.
		wnd, hasWnd := core.ParseWindowAdvert(plain)
		sess.ackedLocked(sess.snd.Ack(core.Ack{Seq: p.AckSeq, Cum: p.Cum, HasCum: p.HasCum, Window: wnd, HasWindow: hasWnd}, now))
		dead := s.pollLocked(sess, now, out)
		s.caughtUpLocked(sess)
		if dead {
			sess.mu.Unlock()
			s.endSession(ctx, sess, "timed out")
			return
		}
	case core.TypePing:
		if p.HasSeq && p.Seq > sess.lastPing {
			sess.lastPing = p.Seq
		}
		s.sendSealedLocked(sess, &core.Packet{Type: core.TypePong, Session: sess.id, Seq: p.Seq, HasSeq: p.HasSeq}, plain)
	case core.TypePong:
		s.answeredLocked(sess, from, plain)
	case core.TypeBye:
		s.sendSealedLocked(sess, &core.Packet{Type: core.TypeBye, Session: sess.id}, nil)
		sess.mu.Unlock()
		s.endSession(ctx, sess, "left")
		return
	default:
		sess.mu.Unlock()
		s.drop(from, DropUnexpected, "unexpected packet type", errors.New(p.Type.String()))
		return
	}
	sess.mu.Unlock()
}

// handleV2Data is handleV2 for DATA; it is called with sess.mu held and
// releases it.
func (s *Server) handleV2Data(ctx context.Context, sess *session, p *core.Packet, plain []byte, from netip.AddrPort) {
	if !p.HasSeq {
		sess.mu.Unlock()
		s.drop(from, DropMalformed, "DATA without seq", nil)
		return
	}
	if s.busy() {
		sess.mu.Unlock()
		s.drop(from, DropBusy, "server busy: too many messages waiting for the handlers", nil)
		return
	}
	seq := p.Seq // p is the read loop's, and ack runs later, on the worker
	ack := func(seq uint64, refused string) {
		sess.mu.Lock()
		s.ackLocked(sess, seq, refused)
		sess.mu.Unlock()
	}
	switch sess.recv.Classify(p.Seq) {
	case core.ArrivalDuplicate:
		// Acknowledged again, after whatever is before it on the worker:
		// a seq already handed on gets its verdict again (ackLocked), one
		// held back behind a gap an ACK that says nothing yet. It opened
		// under its header, so it is the client's, or a recording of it.
		s.answerDuplicateLocked(ctx, sess, from, handoff{sess: sess, seq: seq, ack: ack})
		return
	case core.ArrivalOutOfOrder:
		sess.mu.Unlock()
		s.drop(from, DropWindow, "DATA beyond the receive window", fmt.Errorf("seq %d", p.Seq))
		return
	}
	// Authentic but malformed is a broken client: the seq is used up, the
	// session goes on, and the sender is told.
	m, err := sess.msgs.DecodeMessage(plain)
	if err != nil {
		s.log.Warn("malformed message", "session", fmt.Sprintf("%016x", sess.id), "err", err)
		m = nil
	}
	first := sess.recv.Cumulative() // ready holds first, first+1, ...
	ready := sess.recv.Accept(p.Seq, m)
	name := sess.name
	var msgs []*core.Message
	for _, r := range ready {
		var out *core.Message // nil: could not be read (runHandoff tells the sender)
		if m, ok := r.(*core.Message); ok && m != nil {
			// The server, not the client, says who sent what and when;
			// the client says where (placeMessage checks it may).
			out = &core.Message{Kind: core.KindChat, From: name, Room: m.Room, Text: m.Text}
		}
		msgs = append(msgs, out)
	}
	sess.mu.Unlock()
	s.handOn(ctx, handoff{sess: sess, msgs: msgs, first: first, seq: seq, ack: ack})
}

// Answers to duplicates are rated per session: dupBurst at once, then
// dupRate a second. An authentic DATA recorded off the wire can be sent
// again at any rate, and a version 2 session cannot tell a replay of a
// DATA it took from a retransmission of it: each copy was an ACK back and a
// place in the handler queue. An honest sender retransmits a DATA once per
// RTO, a window sender (128 in flight) a few at once, each when its own
// timeout passes, and twice a message it lost while the server answered;
// one answer's cumulative part covers all the server has taken in order. A
// duplicate over the rate is dropped unanswered, and its sender's next
// retransmission is answered once the rate allows.
const (
	dupBurst = 64
	dupRate  = 32
)

// answerDuplicateLocked hands on h, the ACK alone of an authentic
// duplicate DATA from sess, if sess's rate of answers to duplicates allows
// it. It is called with sess.mu held and releases it.
func (s *Server) answerDuplicateLocked(ctx context.Context, sess *session, from netip.AddrPort, h handoff) {
	if sess.dupes == nil {
		sess.dupes = rate.NewLimiter(dupRate, dupBurst) // made by the first duplicate: most sessions never send one
	}
	ok := sess.dupes.AllowN(s.cfg.Now(), 1)
	sess.mu.Unlock()
	if !ok {
		s.drop(from, DropReplay, "duplicate DATA over the rate of answers", fmt.Errorf("seq %d", h.seq))
		return
	}
	s.handOn(ctx, h)
}

// ackLocked acknowledges a version 2 client's DATA, sealed so that nobody
// else can forge it, with the verdict as its plaintext: empty, the message
// was accepted; otherwise why it was refused (docs/PROTOCOL.md, "Verdicts").
// A refusal is remembered, so that the ACK of a duplicate of that DATA says
// it again: refused "" looks the seq up.
func (s *Server) ackLocked(sess *session, seq uint64, refused string) {
	if refused != "" {
		refused = verdictText(refused)
		sess.refusedLocked(seq, refused)
	} else {
		refused = sess.verdictLocked(seq)
	}
	// The cumulative part covers only what was handed on and judged, not
	// what the read loop took since and the handlers have yet to see, nor
	// what waits for the rate limit (ackCumLocked).
	cum := sess.ackCumLocked(seq)
	dg := s.sealLocked(sess, &core.Packet{Type: core.TypeAck, Session: sess.id, AckSeq: seq, HasAckSeq: true,
		Cum: cum, HasCum: true}, []byte(refused))
	if dg == nil {
		return
	}
	for range core.AckCopies(seq, cum) { // twice for a DATA held behind a gap
		s.write(dg, sess.addr)
	}
}

// maxVerdict bounds the reason an ACK carries, in bytes: with the header and
// the seal it stays well inside any datagram.
const maxVerdict = 300

// verdictText is reason cut to maxVerdict bytes, on a rune boundary.
func verdictText(reason string) string {
	if len(reason) <= maxVerdict {
		return reason
	}
	cut := maxVerdict - len("…")
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut] + "…"
}
