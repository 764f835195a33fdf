package server

import (
	"net/netip"
	"time"

	"github.com/udpchat/udpchat/core"
)

// write sends one datagram, refusing any that its receiver could not read
// whole.
func (s *Server) write(dg []byte, to netip.AddrPort) bool {
	if len(dg) > core.MaxDatagram {
		s.log.Error("datagram too large, not sent", "to", to.String(), "bytes", len(dg))
		return false
	}
	if _, err := s.cfg.Transport.WriteTo(dg, to); err != nil {
		s.log.Warn("write failed", "to", to.String(), "err", err)
		return false
	}
	s.sent.Add(1)
	return true
}

// outbox gathers datagrams to send in batches, on a BatchTransport; it
// belongs to one goroutine. A nil *outbox sends each at once.
type outbox struct {
	s   *Server
	bt  core.BatchTransport
	dgs []core.Datagram
}

// newOutbox returns an outbox for the server's transport, or nil if it
// cannot send batches. One made for a single fan-out goes back with
// release: there is one for every message.
func (s *Server) newOutbox() *outbox {
	bt, ok := s.cfg.Transport.(core.BatchTransport)
	if !ok {
		return nil
	}
	if o, ok := s.outboxes.Get().(*outbox); ok {
		return o
	}
	return &outbox{s: s, bt: bt, dgs: make([]core.Datagram, 0, batchSize)}
}

// release sends what the outbox holds and returns it to the server's pool.
func (o *outbox) release() {
	if o == nil {
		return
	}
	o.flush()
	o.s.outboxes.Put(o)
}

// send sends dg to to, now or with the batch; it reports false if dg
// cannot be sent.
func (o *outbox) send(s *Server, dg []byte, to netip.AddrPort) bool {
	if o == nil {
		return s.write(dg, to)
	}
	if len(dg) > core.MaxDatagram {
		return s.write(dg, to) // refused and logged there
	}
	o.dgs = append(o.dgs, core.Datagram{B: dg, Addr: to})
	if len(o.dgs) == cap(o.dgs) {
		o.flush()
	}
	return true
}

// flush sends what the outbox holds.
func (o *outbox) flush() {
	if o == nil || len(o.dgs) == 0 {
		return
	}
	n, err := o.bt.WriteBatch(o.dgs)
	if err != nil {
		o.s.log.Warn("write failed", "datagrams", len(o.dgs), "err", err)
	}
	o.s.sent.Add(uint64(n))
	clear(o.dgs) // the datagrams belong to their senders
	o.dgs = o.dgs[:0]
}

// encode encodes p in codec c, logging what cannot be.
func (s *Server) encode(c core.Codec, p *core.Packet) []byte {
	dg, err := c.Append(nil, p)
	if err != nil {
		s.log.Error("encode failed", "packet", p.String(), "err", err)
		return nil
	}
	return dg
}

// sendSealedLocked seals plaintext under p's header and sends p to the
// session's address.
func (s *Server) sendSealedLocked(sess *session, p *core.Packet, plaintext []byte) {
	if dg := s.sealLocked(sess, p, plaintext); dg != nil {
		s.write(dg, sess.addr)
	}
}

// sealLocked seals plaintext under p's header and returns p encoded, or
// nil (logged) if it cannot be.
func (s *Server) sealLocked(sess *session, p *core.Packet, plaintext []byte) []byte {
	sc := s.egressScratch()
	defer s.egress.Put(sc)
	sealed, err := sess.keys.Seal(sc.sealed[:0], plaintext, sess.scratchAD(p))
	if err != nil {
		s.log.Error("seal failed", "err", err)
		return nil
	}
	sc.sealed, p.Payload = sealed, sealed
	dg := s.encode(sess.codec, p)
	p.Payload = nil // the scratch goes back to the pool
	return dg
}

// egressScratch is where a datagram is sealed and its header laid out
// before it is encoded: the server's, pooled, not each session's, since
// only the encoded datagram outlives the call, and an idle session would
// otherwise keep the largest it ever sealed.
type egressScratch struct {
	pkt    core.Packet
	sealed []byte
}

// egressScratch takes scratch from the pool; the caller puts it back.
func (s *Server) egressScratch() *egressScratch {
	if sc, ok := s.egress.Get().(*egressScratch); ok {
		return sc
	}
	return new(egressScratch)
}

// buildData seals and encodes sess.body as the version 2 DATA with seq, for
// the session's sender, which keeps the datagram to send it again; it runs
// with sess.mu held, inside Push.
func (s *Server) buildData(sess *session, seq uint64) ([]byte, error) {
	sc := s.egressScratch()
	defer s.egress.Put(sc)
	p := &sc.pkt
	*p = core.Packet{Type: core.TypeData, Session: sess.id, Seq: seq, HasSeq: true}
	sealed, err := sess.keys.Seal(sc.sealed[:0], sess.body, sess.scratchAD(p))
	if err != nil {
		return nil, err
	}
	sc.sealed, p.Payload = sealed, sealed
	return sess.codec.Append(nil, p)
}

// pollLocked sends what the session's sender has due, and keeps the session
// on the timer list while anything is in flight. The sender persists (see
// Config.RetransmitCap), so it gives up on no message and a session ends
// only when its client falls silent (evictIdle). pollLocked reports whether
// a message was given up on all the same, by a layer that ignores Persist:
// the client's receiver then waits for what it will never get, so the
// caller ends the session, which tells the room.
func (s *Server) pollLocked(sess *session, now time.Time, out *outbox) (dead bool) {
	read := s.fillLocked(sess, now)
	send, failed, next := sess.snd.Poll(now)
	if again := now.Add(logTimeout); !read && (next.IsZero() || next.After(again)) {
		next = again // the log did not answer: asked again, even if nothing is in flight
	}
	for _, t := range send {
		if t.Attempt > 1 {
			s.log.Debug("no ACK: retransmitting", "to", sess.name, "attempt", t.Attempt)
			s.retransmitted.Add(1)
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
		s.log.Error("reliability layer gave up on messages it was told to send until acknowledged: ending the session",
			"to", sess.name, "layer", s.cfg.Reliability.Name(), "lost", len(failed))
		return true
	}
	return false
}
