package client

import (
	"context"
	"encoding/hex"
	"strings"

	"github.com/udpchat/udpchat/core"
)

// Ticket is what a version 2 client needs to resume its session after it
// lost it (docs/PROTOCOL.md, "Resume"): the session's id and resume token,
// which the server handed out in the session's first message (KindSession),
// the room log's epoch and the last room offset shown, and the nickname the
// client has. The client keeps its ticket up to date by itself and resumes
// on every reconnect; a program that wants a fresh process to resume too
// persists the ticket (TicketEvent, MessageEvent.Offset) and hands it back
// in Config.Resume.
type Ticket struct {
	// Session is the id of the session the token belongs to; 0 is no
	// ticket.
	Session uint64
	// Epoch is the room log's epoch the offsets count in.
	Epoch uint64
	// Offset is the last room offset shown in Epoch, 0 if none.
	Offset uint64
	// Token is the session's resume token, which keys the proof. It never
	// goes on the wire from the client.
	Token [core.ResumeTokenLen]byte
	// Nick is the nickname the client has, which it asks for when it
	// resumes: the server's choice at the handshake, or the one a /nick
	// the server accepted gave it.
	Nick string
}

// Valid reports whether t can be resumed from.
func (t *Ticket) Valid() bool { return t != nil && t.Session != 0 }

// TicketEvent reports a new ticket: a new session's token and epoch, or a
// new nickname. The offset in it is the one when it was issued; later
// offsets come with each MessageEvent.
type TicketEvent struct{ Ticket Ticket }

func (TicketEvent) isEvent() {}

// missedNotice is what the client says when it resumed into another epoch
// of the room's log than the one it knew: what was said meanwhile is gone.
const missedNotice = "missed messages: server restarted"

// resumeState is the client's side of resume, owned by the loop in Run.
type resumeState struct {
	ticket Ticket
	// nick is the nickname asked for in the next KEY_REQ.
	nick string
	// live is whether the current session has told its epoch: only then
	// are message IDs room offsets, to be remembered and deduplicated. A
	// server that sends no KindSession numbers its messages otherwise.
	live bool
	// shown is the last offset shown of each channel other than the
	// lobby (whose is the ticket's), at most maxShownChannels of them:
	// a session that resumes goes on in its channels from what the
	// client acknowledged, and an ACK may have been lost. It is
	// forgotten with the lobby's epoch, which a server that lost its
	// logs changes.
	shown map[string]uint64
}

// maxShownChannels bounds the channels whose last offset is remembered.
const maxShownChannels = 64

// claim returns the wire form of the Resume the KEY_REQ p carries, or nil
// without a ticket: the proof binds it to p's payload and nickname, so p
// must be final but for the cookie.
func (r *resumeState) claim(p *core.Packet) []byte {
	if !r.ticket.Valid() {
		return nil
	}
	claim := core.Resume{
		Session: r.ticket.Session, Epoch: r.ticket.Epoch, Offset: r.ticket.Offset,
		Proof: core.ResumeProof(r.ticket.Token[:], p.Payload, p.Nick),
	}
	return claim.Append(nil)
}

// session takes in the KindSession message m of the version 2 session id:
// its epoch and token make the new ticket, which is reported. An epoch
// other than the one of an earlier ticket means the server restarted and
// lost the room's log, which the user is told.
func (c *Client) session(ctx context.Context, id uint64, m *core.Message) {
	var token [core.ResumeTokenLen]byte
	if n, err := hex.Decode(token[:], []byte(m.Text)); err != nil || n != len(token) || len(m.Text) != 2*len(token) {
		c.log.Warn("malformed session message from the server: not resuming this session", "len", len(m.Text))
		return
	}
	r := &c.resume
	offset := r.ticket.Offset
	if r.ticket.Valid() && r.ticket.Epoch != m.ID {
		c.log.Warn("the room's log has a new epoch: messages were missed", "old_epoch", r.ticket.Epoch, "epoch", m.ID)
		c.emit(ctx, NoticeEvent{Text: missedNotice})
		offset, r.shown = 0, nil
	} else if !r.ticket.Valid() {
		offset, r.shown = 0, nil
	}
	r.ticket = Ticket{Session: id, Epoch: m.ID, Offset: offset, Token: token, Nick: r.nick}
	r.live = true
	c.emit(ctx, TicketEvent{Ticket: r.ticket})
}

// deliver reports the messages of one DATA, less what the user must not
// see: the session message, which is the engine's, and a room message
// already shown (a replay of what arrived before the session was lost).
func (c *Client) deliver(ctx context.Context, ms []*core.Message) {
	r := &c.resume
	for _, m := range ms {
		if m.Kind == core.KindSession {
			c.session(ctx, c.info.Session, m)
			continue
		}
		var offset uint64
		if r.live && m.ID != 0 && m.Room != "" {
			// A channel's offsets are its own.
			if last, ok := r.shown[m.Room]; ok && m.ID <= last {
				c.log.Debug("channel message shown already: dropped", "channel", m.Room, "offset", m.ID, "last", last)
				continue
			}
			if _, ok := r.shown[m.Room]; ok || len(r.shown) < maxShownChannels {
				if r.shown == nil {
					r.shown = make(map[string]uint64)
				}
				r.shown[m.Room] = m.ID
			}
		}
		if r.live && m.ID != 0 && m.Room == "" {
			if m.ID <= r.ticket.Offset {
				c.log.Debug("room message shown already: dropped", "offset", m.ID, "last", r.ticket.Offset)
				continue
			}
			offset, r.ticket.Offset = m.ID, m.ID
		}
		c.emit(ctx, MessageEvent{Message: *m, Offset: offset})
	}
}

// setNick records the nickname the server gave the client, to ask for it
// again when it resumes, and reports the ticket if it changed.
func (c *Client) setNick(ctx context.Context, nick string) {
	r := &c.resume
	if nick == "" || nick == r.nick {
		return
	}
	r.nick = nick
	if r.ticket.Valid() {
		r.ticket.Nick = nick
		c.emit(ctx, TicketEvent{Ticket: r.ticket})
	}
}

// nickCommand returns the nickname a line asks for with /nick, as the
// server reads the command (server/commands.go), or "" for any other line.
func nickCommand(text string) string {
	name, arg, _ := strings.Cut(text, " ")
	if name != "/nick" {
		return ""
	}
	return strings.TrimSpace(arg)
}
