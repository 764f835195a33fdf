package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/udpchat/udpchat/core"
)

// worstEnvelope is the largest message the server could wrap a text in:
// every field at its longest.
var worstEnvelope = core.Message{
	Kind: core.KindHistory, ID: 1<<64 - 1, From: "wwwwwwwwwwwwwwww", To: "wwwwwwwwwwwwwwww",
	Room: "#wwwwwwwwwwwwwwwwwwwwwwww",
	Time: time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC),
}

// CheckText says why text cannot be sent, or returns nil: it must fit in a
// datagram as the server relays it, whichever protocol version is spoken.
func (c *Client) CheckText(text string) error {
	limit := c.maxV1
	fits := len(text) <= c.maxV1
	if fits && c.msgCodec != nil {
		m := worstEnvelope
		m.Text = text
		b, err := c.msgCodec.AppendMessage(nil, &m)
		fits = err == nil && len(b) <= c.maxV2
		if !fits {
			// Text that JSON must escape takes more room; say what plain text fits.
			limit = min(limit, len(text)-(len(b)-c.maxV2))
		}
	}
	if !fits {
		return fmt.Errorf("%w: %d bytes, at most about %d", core.ErrTooLong, len(text), limit)
	}
	return nil
}

// Send queues text for the server and returns the message's ID, which later
// events name. It blocks while the send queue is full, and fails at once with
// an error matching ErrTooLong for a text that cannot fit in a datagram.
func (c *Client) Send(ctx context.Context, text string) (uint64, error) {
	return c.SendIn(ctx, "", text)
}

// SendIn is Send for a line said in channel ch ("#name", core.Lobby for
// the lobby): the server takes it there if the session is in ch, and
// refuses it otherwise. "" leaves the channel to the server: the one the
// session last chose with /join. A line for a named channel needs a
// version 2 session: a version 1 server would say it to everyone, so it
// fails instead.
func (c *Client) SendIn(ctx context.Context, ch, text string) (uint64, error) {
	if err := core.CheckChannel(ch); err != nil {
		return 0, fmt.Errorf("client: %w", err)
	}
	if err := c.CheckText(text); err != nil {
		return 0, err
	}
	c.idMu.Lock()
	c.nextID++
	o := &outgoing{id: c.nextID, text: text, room: ch, nick: nickCommand(text)}
	c.idMu.Unlock()
	select {
	case c.sendCh <- o:
		return o.id, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-c.done:
		return 0, core.ErrClosed
	}
}

type outgoing struct {
	id   uint64
	text string
	room string // the channel it is said in, "" for the server's choice
	seq  uint64 // its DATA's seq in the session it was last pushed in
	// nick is the nickname the line asks for with /nick, "" if none: the
	// client's own once a version 2 server accepts the line.
	nick string
}

// refusals are the verdicts "refused" that a version 2 server's ACKs
// carried, by seq, in one session, until the messages are settled: with a
// cumulative layer a message may be settled by a later ACK than its own.
type refusals struct {
	session uint64
	why     map[uint64]string
	// limit bounds the refusals kept: one whose message is never settled
	// in this session (the ACK of a duplicate, a session that ended) is
	// forgotten, with all the others, once this many are kept. Twice the
	// client's queue (64 at least), since every message waiting to be
	// settled is in it:
	// at 64, a window of 128 whose messages the rate limit refused while
	// an earlier one waited lost the verdicts of half of them, reported
	// delivered.
	limit int
}

func (r *refusals) add(session, seq uint64, why string) {
	if r.why == nil || r.session != session || len(r.why) >= r.limit {
		r.session, r.why = session, make(map[uint64]string)
	}
	r.why[seq] = why
}

// take returns why seq was refused in session, and forgets it.
func (r *refusals) take(session, seq uint64) (string, bool) {
	if r.session != session {
		return "", false
	}
	why, ok := r.why[seq]
	delete(r.why, seq)
	return why, ok
}

func refsToOutgoing(refs []any) []*outgoing {
	out := make([]*outgoing, len(refs))
	for i, ref := range refs {
		out[i] = ref.(*outgoing)
	}
	return out
}

func (c *Client) sealData(seq uint64, o *outgoing) ([]byte, error) {
	p := &core.Packet{Type: core.TypeData, Seq: seq, HasSeq: true, Session: c.info.Session}
	plain := []byte(o.text)
	var ad []byte
	if c.info.Version < 2 && o.room != "" && o.room != core.Lobby {
		return nil, errNoChannels // the lobby is all a version 1 server has
	}
	if c.info.Version >= 2 {
		var err error
		if plain, err = c.msgCodec.AppendMessage(nil, &core.Message{Kind: core.KindChat, Room: o.room, Text: o.text}); err != nil {
			return nil, err
		}
		ad = p.AD()
	}
	sealed, err := c.keys.Seal(nil, plain, ad)
	if err != nil {
		return nil, err
	}
	p.Payload = sealed
	return c.cfg.Codec.Append(nil, p)
}

// errNoChannels fails a line for a channel in a version 1 session.
var errNoChannels = errors.New("client: channels need a version 2 session: not sent, since a version 1 server would say it to everyone")

// sendSealed seals plaintext under p's header, in this version 2 session,
// and sends p.
func (c *Client) sendSealed(p *core.Packet, plaintext []byte) {
	if dg := c.seal(p, plaintext); dg != nil {
		c.write(dg)
	}
}

// seal seals plaintext under p's header, of the session, and returns p
// encoded, or nil (logged) if it cannot be.
func (c *Client) seal(p *core.Packet, plaintext []byte) []byte {
	p.Session = c.info.Session
	sealed, err := c.keys.Seal(nil, plaintext, p.AD())
	if err != nil {
		c.log.Error("seal failed", "err", err)
		return nil
	}
	p.Payload = sealed
	dg, err := c.cfg.Codec.Append(nil, p)
	if err != nil {
		return nil
	}
	return dg
}

// acked processes an ACK. refused is its verdict, from a version 2 server:
// empty, the DATA it names was accepted (or, held behind a gap, not yet
// judged); otherwise why the server refused it. A version 1 ACK says
// nothing more than "handed on", so a seed server's refusals are never
// seen here (only as its notices).
func (c *Client) acked(ctx context.Context, a core.Ack, refused string) {
	if refused != "" {
		c.refusals.add(c.info.Session, a.Seq, refused)
	}
	refs := c.snd.Ack(a, c.cfg.Now())
	if len(refs) > 0 && c.info.Version < 2 && c.cfg.V1AckPause > 0 {
		c.v1Hold = c.cfg.Now().Add(c.cfg.V1AckPause) // see Config.V1AckPause
	}
	for _, ref := range refs {
		o := ref.(*outgoing)
		if why, ok := c.refusals.take(c.info.Session, o.seq); ok {
			c.emit(ctx, RefusedEvent{ID: o.id, Text: o.text, Reason: why})
			continue
		}
		c.emit(ctx, DeliveredEvent{ID: o.id})
		if o.nick != "" && c.info.Version >= 2 {
			// The server renames a session as it runs the command, before
			// its ACK, and says no in the ACK if it refuses: an accepted
			// /nick is the client's nickname, to ask for when it resumes.
			c.setNick(ctx, o.nick)
		}
	}
}

func (c *Client) write(dg []byte) {
	c.lastSent = c.cfg.Now()
	if _, err := c.cfg.Transport.WriteTo(dg, c.server()); err != nil {
		c.log.Warn("write failed", "err", err)
	}
}
