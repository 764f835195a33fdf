package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/termsafe"
)

func (c *Client) readLoop(ctx context.Context) {
	buf := make([]byte, core.MaxDatagram+1)
	for {
		n, from, err := c.cfg.Transport.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if r, ok := asICMPReport(err); ok {
				select {
				case c.icmp <- r:
				default:
					c.drop(r.to, "ICMP error while the engine is behind: a hint, dropped", r.err)
				}
				continue
			}
			c.drop(c.server(), "read failed", err)
			continue
		}
		if from != c.server() {
			c.drop(from, "datagram not from the server", nil)
			continue
		}
		if n > core.MaxDatagram {
			c.drop(from, "oversize datagram", nil)
			continue
		}
		// When the engine is behind, the read waits and the socket's
		// buffer holds what comes meanwhile: dropping here instead lost
		// whole bursts of a window to retransmission timeouts.
		select {
		case c.in <- copyDatagram(buf[:n]):
		case <-ctx.Done():
			return
		}
	}
}

// datagrams recycles the buffers that carry datagrams from the read loop to
// the engine: a client in a busy room receives tens of thousands a second.
var datagrams = sync.Pool{New: func() any { return new([]byte) }}

func copyDatagram(b []byte) *[]byte {
	dg := datagrams.Get().(*[]byte)
	*dg = append((*dg)[:0], b...)
	return dg
}

func (c *Client) drop(from netip.AddrPort, reason string, err error) {
	c.drops.Drop(c.cfg.Now(), from, reason, err)
}

// handle processes one datagram from the server. It returns an error only
// when the server must be refused.
func (c *Client) handle(ctx context.Context, dg []byte) error {
	p, err := c.scratch.Decode(c.cfg.Codec, dg)
	if err != nil {
		c.drop(c.server(), "undecodable", err)
		return nil
	}
	switch p.Type {
	case core.TypeKeyRep:
		return c.handleKeyRep(ctx, p)
	case core.TypeCookie:
		c.handleCookie(p)
		return nil
	}
	if c.keys == nil {
		c.drop(c.server(), p.Type.String()+" before the handshake", nil)
		return nil
	}
	if c.info.Version >= 2 {
		return c.handleV2(ctx, p)
	}
	switch p.Type {
	case core.TypeAck:
		if !p.HasAckSeq {
			c.drop(c.server(), "ACK without ack_seq", nil)
			return nil
		}
		c.acked(ctx, core.Ack{Seq: p.AckSeq}, "")
	case core.TypeData:
		tag := c.keys.Tag(p.Payload)
		if c.tags.Seen(tag) {
			c.drop(c.server(), "replayed payload", core.ErrReplay)
			return nil
		}
		plain, err := c.keys.Open(nil, p.Payload, nil)
		if err != nil {
			c.drop(c.server(), "DATA failed to open", err)
			return nil
		}
		c.tags.Add(tag)
		from, text := core.ParseV1Text(string(plain))
		kind := core.KindChat
		if from == core.SystemSender {
			kind = core.KindSystem
		}
		c.emit(ctx, MessageEvent{Message: core.Message{Kind: kind, From: from, Text: text, Time: c.cfg.Now()}})
	default:
		c.drop(c.server(), "unexpected packet type", errors.New(p.Type.String()))
	}
	return nil
}

// handleV2 processes a packet of a version 2 session: nothing in it is
// believed before it opens under its own header.
func (c *Client) handleV2(ctx context.Context, p *core.Packet) error {
	if p.Session != c.info.Session {
		c.drop(c.server(), "packet for another session", nil)
		return nil
	}
	if p.Type == core.TypeBye && len(p.Payload) == 0 {
		// A restarted server says it does not know our session this way,
		// unsealed, for it has no keys. But the session id travels in
		// clear, so anyone who saw one datagram can write this too: it is
		// a reason to ask the server, never to end the session.
		c.suspectLost()
		return nil
	}
	plain, err := c.keys.Open(c.opened[:0], p.Payload, p.AppendAD(c.ad[:0]))
	if err != nil {
		c.drop(c.server(), p.Type.String()+" failed to open", err)
		return nil
	}
	c.opened = plain
	c.lastHeard, c.heard = c.cfg.Now(), true
	c.lostProbes, c.lostNext = 0, time.Time{} // the server holds the session
	switch p.Type {
	case core.TypeAck:
		if p.HasAckSeq {
			// The plaintext is the verdict (docs/PROTOCOL.md, "Verdicts").
			c.acked(ctx, core.Ack{Seq: p.AckSeq, Cum: p.Cum, HasCum: p.HasCum}, verdict(plain))
		}
	case core.TypeData:
		if !p.HasSeq {
			return nil
		}
		switch c.recv.Classify(p.Seq) {
		case core.ArrivalDuplicate:
			c.ackNow(p.Seq)
			return nil
		case core.ArrivalOutOfOrder:
			c.drop(c.server(), "DATA out of order", fmt.Errorf("seq %d", p.Seq))
			return nil
		}
		ms, err := c.decodeMessages(plain)
		if err != nil {
			// Accepted all the same: what the server sent cannot be
			// read, and waiting for it to be sent again would not help.
			c.log.Warn("malformed message from the server", "err", err)
		}
		for _, r := range c.recv.Accept(p.Seq, ms) {
			ms, _ := r.([]*core.Message)
			c.deliver(ctx, ms)
		}
		if p.Seq >= c.recv.Cumulative() {
			// Held behind a gap: acknowledged at once, since no later
			// ACK's cumulative part will say it arrived until the gap
			// fills; that ACK's covers any waiting.
			c.acksDue = 0
			c.ackNow(p.Seq)
			return nil
		}
		// In order, its ACK waits until the datagrams already here are
		// handled: one ACK, with its cumulative part, then covers a
		// whole burst.
		c.ackSeq, c.acksDue = p.Seq, c.acksDue+1
	case core.TypePing:
		c.answerChallenge(p, plain)
	case core.TypePong:
		if len(plain) == 8 {
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(plain)))
			c.emit(ctx, RTTEvent{RTT: c.cfg.Now().Sub(sent)})
		}
	case core.TypeBye:
		c.log.Warn("the server ended our session", "why", termsafe.Line(string(plain)))
		if len(plain) > 0 {
			// Why it ended it (a kick, a ban), for the user.
			c.emit(ctx, MessageEvent{Message: core.Message{Kind: core.KindError, From: core.SystemSender,
				Text: termsafe.Line(string(plain)), Time: c.cfg.Now()}})
		}
		return c.sessionLost(ctx)
	default:
		c.drop(c.server(), "unexpected packet type", errors.New(p.Type.String()))
	}
	return nil
}

// verdict is the reason a version 2 ACK's plaintext gives for refusing
// the DATA it names, "" if none, made safe to show as every client shows
// what the server wrote (termsafe.Line).
func verdict(plain []byte) string {
	if len(plain) == 0 {
		return ""
	}
	why := termsafe.Line(string(plain))
	if strings.TrimSpace(why) == "" {
		return "refused"
	}
	return why
}

// decodeMessages decodes the plaintext of a version 2 DATA from the server:
// one message, or a bundle of them where the codec can carry one. The slice
// is the caller's: a receiver may hold it back behind a gap.
func (c *Client) decodeMessages(plain []byte) ([]*core.Message, error) {
	if b, ok := c.msgCodec.(core.Bundler); ok {
		return b.DecodeMessages(nil, plain)
	}
	m, err := c.msgCodec.DecodeMessage(plain)
	if err != nil {
		return nil, err
	}
	return []*core.Message{m}, nil
}

// maxAcksDue bounds the DATA one ACK may stand for, so that a sender in a
// long burst still hears of progress.
const maxAcksDue = 16

// sendAck acknowledges the DATA accepted in order since the last ACK: the
// last one selectively, the rest cumulatively.
func (c *Client) sendAck() {
	c.acksDue = 0
	if c.keys == nil || c.recv == nil {
		return
	}
	c.ackNow(c.ackSeq)
}

// ackNow acknowledges the DATA seq, with the receiver's cumulative part:
// twice when that does not cover seq (core.AckCopies). Its plaintext
// advertises the receiver's window (advertised).
func (c *Client) ackNow(seq uint64) {
	cum := c.recv.Cumulative()
	var advert [core.WindowAdvertLen]byte
	plain := advert[:0]
	if n, ok := c.advertised(); ok {
		plain = core.AppendWindowAdvert(plain, n)
	}
	dg := c.seal(&core.Packet{Type: core.TypeAck, AckSeq: seq, HasAckSeq: true, Cum: cum, HasCum: true}, plain)
	if dg == nil {
		return
	}
	for range core.AckCopies(seq, cum) {
		c.write(dg)
	}
}

// advertised is the window the client's ACKs advertise: the DATA its
// receiver takes from its cumulative point on, less the events the
// application has yet to read, so that a user interface that falls
// behind slows the server's sending to it rather than have the engine
// stop reading its socket and the kernel drop what the server sent.
// A receiver that cannot say its window advertises none.
func (c *Client) advertised() (uint32, bool) {
	rw, ok := c.recv.(core.ReceiveWindow)
	if !ok {
		return 0, false
	}
	return uint32(max(0, rw.Window()-len(c.events))), true
}
