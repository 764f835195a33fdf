package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/udpchat/udpchat/core"
)

// step does whatever is due: KEY_REQ retries while handshaking, and otherwise
// the reliability layer's sends, retransmissions and give-ups, and keepalives.
func (c *Client) step(ctx context.Context) error {
	now := c.cfg.Now()
	if c.handshaking() {
		if now.Before(c.hsNext) {
			return nil
		}
		if c.hsTries > c.cfg.HandshakeRetries {
			return c.handshakeFailed(ctx, c.noAnswer())
		}
		c.sendKeyReq(ctx, now)
		return nil
	}
	for len(c.waiting) > 0 {
		o := c.waiting[0]
		_, err := c.snd.Push(func(seq uint64) ([]byte, error) { o.seq = seq; return c.sealData(seq, o) }, o)
		if errors.Is(err, core.ErrQueueFull) {
			break
		}
		c.waiting = c.waiting[1:]
		if err != nil {
			c.emit(ctx, FailedEvent{ID: o.id, Text: o.text, Err: err})
		}
	}
	if c.info.Version < 2 && now.Before(c.v1Hold) {
		// Just ACKed: the next DATA waits for the seed server to count the
		// last one (Config.V1AckPause). Nothing is in flight to retransmit.
		c.sndNext = c.v1Hold
		return nil
	}
	// A server silent for three keepalives is gone, whatever is in flight:
	// what waits for its ACK goes to the next session. Without Reconnect
	// the client ends if a line waits for the server, and every line still
	// pending is reported undelivered; one that only listens waits on, as
	// the server keeps its session through an outage shorter than its idle
	// timeout. A client that knows other servers of the room moves to the
	// next one instead, listening or not: it resumes there and misses
	// nothing.
	if c.info.Version >= 2 && now.Sub(c.lastHeard) > 3*c.cfg.Keepalive {
		switch {
		case c.canMove():
			return c.move(ctx, "server silent for three keepalives", 0)
		case c.cfg.Reconnect:
			c.log.Warn("server silent for three keepalives: reconnecting", "last_heard", c.lastHeard)
			return c.reconnect(ctx, 0)
		case c.linesWaiting():
			return fmt.Errorf("%w for %s", ErrServerSilent, now.Sub(c.lastHeard).Round(time.Millisecond))
		}
	}
	if !c.lostNext.IsZero() && !now.Before(c.lostNext) {
		if c.lostProbes >= lostProbes {
			c.log.Warn("the server has lost our session: its unsealed BYE, and no sealed answer to our checks", "checks", c.lostProbes)
			c.lostProbes, c.lostNext = 0, time.Time{}
			return c.sessionLost(ctx)
		}
		c.probeLost(now)
	}
	send, failed, next := c.snd.Poll(now)
	c.sndNext = next
	if len(failed) == 0 {
		for _, t := range send {
			if t.Attempt > 1 {
				c.log.Warn("no ACK: retransmitting", "id", t.Ref.(*outgoing).id, "attempt", t.Attempt)
			}
			c.write(t.Datagram)
		}
		if c.info.Version >= 2 {
			if !now.Before(c.pingDue()) {
				c.ping(now)
			}
		}
		return nil
	}
	for _, ref := range failed {
		o := ref.(*outgoing)
		c.log.Error("message lost: no ACK after retries", "id", o.id, "retries", c.cfg.ReliabilityConfig.MaxRetries)
		c.emit(ctx, FailedEvent{ID: o.id, Text: o.text, Err: fmt.Errorf("no ACK after %d retries", c.cfg.ReliabilityConfig.MaxRetries)})
	}
	// Only a version 1 sender gives up (a version 2 one persists). The
	// seed server's receiver may still wait for the lost message, and
	// nothing but a new session can move it on. What
	// Poll would send next stays unsent: had the lost message in fact
	// arrived, the old session would accept it, and the new one again.
	c.waiting = append(refsToOutgoing(c.snd.Drain()), c.waiting...)
	c.emit(ctx, StateEvent{State: StateHandshaking, Server: c.server()})
	return c.startHandshake(ctx, 0)
}

// linesWaiting reports whether a line the user sent still waits for the
// server: in flight or not yet pushed.
func (c *Client) linesWaiting() bool { return c.sndPending()+len(c.waiting) > 0 }

// rto is the configured retransmission timeout, or a second if none: the
// pace of the client's own checks (BYE, a suspect session).
func (c *Client) rto() time.Duration {
	if rto := c.cfg.ReliabilityConfig.RTO; rto > 0 {
		return rto
	}
	return time.Second
}

func (c *Client) sndPending() int {
	if c.snd == nil {
		return 0
	}
	return c.snd.Pending()
}

func (c *Client) nextWake() time.Duration {
	var next time.Time
	switch {
	case c.handshaking():
		next = c.hsNext
	case !c.sndNext.IsZero():
		next = c.sndNext
	case c.info.Version >= 2:
		next = c.pingDue()
	default:
		return time.Hour
	}
	if c.info.Version >= 2 && !c.handshaking() {
		next = minTime(next, c.pingDue())
	}
	if !c.lostNext.IsZero() {
		next = minTime(next, c.lostNext)
	}
	if !c.handshaking() && c.info.Version >= 2 && (c.cfg.Reconnect || c.linesWaiting() || len(c.servers) > 1) {
		// The server's silence is watched while messages are in flight too.
		next = minTime(next, c.lastHeard.Add(3*c.cfg.Keepalive+time.Millisecond))
	}
	return max(next.Sub(c.cfg.Now()), 0)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// pingEvery is how long the client may send nothing. Until the server has
// answered anything sealed, the PING that proves the client holds the keys
// may have been lost, and the server sends it nothing of the room until it
// arrives: it is sent again after the handshake's RTO, not a keepalive
// later.
func (c *Client) pingEvery() time.Duration {
	if !c.heard {
		return min(c.cfg.HandshakeRTO, c.cfg.Keepalive)
	}
	return c.cfg.Keepalive
}

// pingDue is when the next keepalive is due: once the client has sent
// nothing for pingEvery, or once the server has said nothing for a
// keepalive, however much the client sends. A DATA retransmitted while the
// server's handlers hold it (a room log electing a leader) draws no
// answer, and only a PONG tells a busy server from a dead one.
func (c *Client) pingDue() time.Time {
	due := c.lastSent.Add(c.pingEvery())
	if c.heard {
		due = minTime(due, maxTime(c.lastHeard, c.lastPing).Add(c.cfg.Keepalive))
	}
	return due
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ping sends a keepalive carrying the time, which the PONG brings back.
func (c *Client) ping(now time.Time) {
	c.lastPing = now
	c.pingSeq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(now.UnixNano()))
	c.sendSealed(&core.Packet{Type: core.TypePing, Seq: c.pingSeq, HasSeq: true}, b[:])
}

// lostProbes is how many PINGs, an RTO apart, the client sends to check
// an unsealed BYE before it believes it: one sealed answer (any
// authentic packet of the session) shows the server still holds the
// session and the BYE was forged.
const lostProbes = 3

// suspectLost starts checking, unless a check is under way, whether the
// server lost our session, as an unsealed BYE says. Only a sealed
// packet of the session is believed (docs/PROTOCOL.md, "Liveness"), so
// a stranger who learnt the session id can make the client send at most
// lostProbes PINGs an RTO, no more than the server's own answer would.
func (c *Client) suspectLost() {
	if !c.lostNext.IsZero() {
		c.drop(c.server(), "unsealed BYE while checking the last one", nil)
		return
	}
	c.log.Warn("unsealed BYE for our session: asking the server whether it still holds it")
	c.probeLost(c.cfg.Now())
}

// probeLost sends one check (a PING) and sets when the next is due.
func (c *Client) probeLost(now time.Time) {
	c.lostProbes++
	c.lostNext = now.Add(c.rto())
	c.ping(now)
}

// reconnect abandons a lost session and starts a new one, after a wait;
// what was not yet acknowledged is sent again in it.
func (c *Client) reconnect(ctx context.Context, after time.Duration) error {
	if c.snd != nil {
		c.waiting = append(refsToOutgoing(c.snd.Drain()), c.waiting...)
	}
	c.emit(ctx, StateEvent{State: StateReconnecting, Server: c.server()})
	err := c.startHandshake(ctx, after)
	c.state = StateReconnecting
	return err
}

// canMove reports whether the client has another server to move to
// rather than give up on the one at hand: with Reconnect whenever it
// knows several, else until it has tried each since it was last
// connected.
func (c *Client) canMove() bool {
	return len(c.servers) > 1 && (c.cfg.Reconnect || c.tried < len(c.servers))
}

// move gives up on the server at hand and reconnects to the next one of
// the list, round-robin, after a wait, where the new handshake resumes the
// session as a reconnect to the same server would: the servers share the
// room's log and resume key. What was not yet acknowledged is sent again
// there.
func (c *Client) move(ctx context.Context, why string, after time.Duration) error {
	from := c.server()
	if c.verdicts[c.current.Load()] == nil {
		c.verdicts[c.current.Load()] = fmt.Errorf("%s: %s", from, why) // for Run's error, should every server fail
	}
	c.current.Store(c.nextServer())
	c.tried++
	c.log.Warn("moving to the next server", "from", from.String(), "to", c.server().String(), "why", why, "after", after)
	return c.reconnect(ctx, after)
}

// nextServer is the index of the server after the one at hand.
func (c *Client) nextServer() int32 { return (c.current.Load() + 1) % int32(len(c.servers)) }

// sessionLost reconnects, or gives up, as configured. A client that knows
// several servers reconnects even without Reconnect: the server said it
// lost the session, not that the room is gone, and if it no longer
// answers the client moves on.
func (c *Client) sessionLost(ctx context.Context) error {
	if c.cfg.Reconnect || len(c.servers) > 1 {
		return c.reconnect(ctx, 0)
	}
	return errors.New("core: client: the server ended the session")
}

// bye tells a version 2 server the session is over, so it tells the room at
// once rather than after the idle timeout, and waits briefly for its answer.
func (c *Client) bye() {
	if c.state != StateConnected || c.info.Version < 2 {
		return
	}
	wait := c.rto()
	t := time.NewTimer(wait)
	defer t.Stop()
	for range byeTries {
		c.sendSealed(&core.Packet{Type: core.TypeBye}, nil)
		t.Reset(wait)
		for answered := false; !answered; {
			select {
			case dg := <-c.in:
				p, err := c.cfg.Codec.Decode(*dg)
				datagrams.Put(dg)
				if err == nil && p.Type == core.TypeBye && p.Session == c.info.Session {
					if _, err := c.keys.Open(nil, p.Payload, p.AD()); err == nil {
						return
					}
				}
			case <-t.C:
				answered = true // not answered: send again
			}
		}
	}
}

// fail reports the end of the session and every message that will not be sent.
func (c *Client) fail(ctx context.Context, err error) {
	c.state = StateFailed
	c.log.Error("giving up", "err", err)
	c.emit(ctx, StateEvent{State: StateFailed, Err: err, Server: c.server()})
	if c.snd != nil {
		c.waiting = append(refsToOutgoing(c.snd.Drain()), c.waiting...)
	}
	for _, o := range c.waiting {
		c.emit(ctx, FailedEvent{ID: o.id, Text: o.text, Err: err})
	}
	c.waiting = nil
}
