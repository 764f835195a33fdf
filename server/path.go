package server

import (
	"crypto/subtle"
	"fmt"
	"io"
	"net/netip"

	"github.com/udpchat/udpchat/core"
)

// Path validation (docs/PROTOCOL.md, "Path validation"), in the spirit of
// QUIC's (RFC 9000, sections 8.2 and 9). A version 2 session is sent to
// the one address it has proven it receives at: the handshake's, or one
// validated since. An authentic packet from another address proves only
// that whoever sent it holds the keys, not that the address is theirs: the
// holder of a session's keys can forge any source address, and one such
// packet used to move the session, and the room's traffic, onto a victim.
// So a fresh authentic packet from a new address starts a probe instead: a
// sealed PING carrying an unpredictable challenge goes to the new address,
// and only a sealed PONG echoing it, from that address, moves the session.
// Until then the new address is sent nothing but challenges, and at most
// pathAmplification times the bytes that came from it.

// challengeLen is the size of a path challenge, in bytes: unguessable.
const challengeLen = 16

// pathAmplification bounds what an unvalidated address is sent, against
// what it sent: as QUIC's anti-amplification limit.
const pathAmplification = 3

// pathProbe is a new address a session's packets came from, while it is
// being validated. A session has at most one: a probe of another address
// replaces it, so a peer cannot make the server keep more.
type pathProbe struct {
	addr      netip.AddrPort
	challenge [challengeLen]byte
	in, out   int // bytes received from addr, and sent to it, in this probe
}

// pathLocked looks at the address an authentic packet p of sess came from,
// size bytes. From the session's own address it does nothing. From a new
// one, a fresh packet (the next DATA, a newer PING: no replay) starts a
// probe of it, unless another live session holds that address: a session
// is never moved onto another's, which would lock a seed client, found by
// its address alone, out of its own session. Every authentic packet from
// the address being probed sends the challenge again, within the bound, in
// case one was lost.
func (s *Server) pathLocked(sess *session, p *core.Packet, from netip.AddrPort, size int) {
	if from == sess.addr {
		return
	}
	pr := sess.path
	if pr == nil || pr.addr != from {
		if !s.freshLocked(sess, p) {
			return
		}
		if other := s.sessions.addr(from); other != nil && other != sess {
			s.log.Debug("not probing an address another session holds", "session", fmt.Sprintf("%016x", sess.id),
				"addr", from.String())
			return
		}
		pr = &pathProbe{addr: from}
		if _, err := io.ReadFull(s.cfg.Rand, pr.challenge[:]); err != nil {
			s.log.Error("no randomness for a path challenge", "err", err)
			return
		}
		sess.path = pr
		s.log.Debug("probing a new address", "session", fmt.Sprintf("%016x", sess.id), "addr", from.String())
	}
	pr.in += size
	dg := s.sealLocked(sess, &core.Packet{Type: core.TypePing, Session: sess.id}, pr.challenge[:])
	if dg == nil || pr.out+len(dg) > pathAmplification*pr.in {
		return // over the bound: the next packet from there may send it
	}
	if s.write(dg, from) {
		pr.out += len(dg)
	}
}

// freshLocked reports whether p is a packet sess has not had before: a
// DATA the receiver can take, or a PING with a higher seq than any before.
// A replay is not fresh, so it cannot even start a probe.
func (s *Server) freshLocked(sess *session, p *core.Packet) bool {
	switch p.Type {
	case core.TypeData:
		return p.HasSeq && sess.recv.Classify(p.Seq) == core.ArrivalNew
	case core.TypePing:
		return p.HasSeq && p.Seq > sess.lastPing
	}
	return false
}

// answeredLocked takes a PONG of sess, plaintext plain, from from: if it
// echoes the challenge of the probe of from, the address is validated and
// the session moves there. Anything else is dropped.
func (s *Server) answeredLocked(sess *session, from netip.AddrPort, plain []byte) {
	pr := sess.path
	if pr == nil || pr.addr != from || subtle.ConstantTimeCompare(plain, pr.challenge[:]) != 1 {
		s.drop(from, DropUnexpected, "PONG that answers no challenge from its address", nil)
		return
	}
	sess.path = nil
	old := sess.addr
	if !s.sessions.move(sess, from) {
		s.drop(from, DropUnexpected, "path validated onto another session's address", nil)
		return
	}
	s.log.Info("session moved", "session", fmt.Sprintf("%016x", sess.id), "from", old.String(), "to", from.String())
}
