package client

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/udpchat/udpchat/core"
)

// ConnState is where a client stands with its server.
type ConnState uint8

// Client connection states.
const (
	StateHandshaking  ConnState = iota // KEY_REQ sent, waiting for KEY_REP
	StateConnected                     // keys agreed; messages flow
	StateFailed                        // the server did not answer; the client gave up
	StateReconnecting                  // the session was lost; a new handshake is under way
)

func (s ConnState) String() string {
	switch s {
	case StateHandshaking:
		return "handshaking"
	case StateConnected:
		return "connected"
	case StateFailed:
		return "failed"
	case StateReconnecting:
		return "reconnecting"
	}
	return fmt.Sprintf("ConnState(%d)", uint8(s))
}

// Event is what a Client reports: one of MessageEvent, DeliveredEvent,
// RefusedEvent, FailedEvent, StateEvent, AttemptEvent,
// HandshakeFailedEvent, NoticeEvent, RTTEvent, TicketEvent. Each message
// Send numbered is settled by exactly one DeliveredEvent, RefusedEvent or
// FailedEvent (unless the Client is closed first).
type Event interface{ isEvent() }

// MessageEvent is a message received from the server. A room message is
// reported once, however often the server sends it (a resumed session
// replays from the last one shown).
type MessageEvent struct {
	Message core.Message
	// Offset is the message's offset in the room's log, in the epoch of
	// the current Ticket: what a program that persists the ticket saves as
	// Ticket.Offset. 0 for a message for one recipient, and for every
	// message of a server that tells no epoch.
	Offset uint64
}

// DeliveredEvent says the server accepted the message Send numbered ID. A
// version 1 server's ACK cannot say more than that the message arrived and
// was handed on: its refusals come only as notices (MessageEvent of
// KindError), which nothing matches to a message.
type DeliveredEvent struct{ ID uint64 }

// RefusedEvent says the server received the message Send numbered ID and
// refused it (a filter, the rate limit, a /msg to nobody), and why: the
// verdict a version 2 server's ACK carries. The server also sends its usual
// notice, as a MessageEvent of KindError.
type RefusedEvent struct {
	ID     uint64
	Text   string // the line, as given to Send
	Reason string
}

// FailedEvent says the message Send numbered ID was given up on.
type FailedEvent struct {
	ID   uint64
	Text string // the line, as given to Send
	Err  error
}

// StateEvent reports a change of connection state.
type StateEvent struct {
	State ConnState
	Err   error        // why, for StateFailed
	Info  *SessionInfo // the session, for StateConnected
	// Server is the server the client is connected to, or handshaking
	// with: with Fallbacks, the one it moved to.
	Server netip.AddrPort
}

// AttemptEvent reports a KEY_REQ sent: attempt Attempt of Of to Server,
// in the first handshake as in every reconnection. Wait is how long the
// client waits for the answer before it sends the next, or gives up on
// the server (HandshakeFailedEvent) after the last.
type AttemptEvent struct {
	Server  netip.AddrPort
	Attempt int // from 1
	Of      int // Config.HandshakeRetries + 1
	Wait    time.Duration
}

// HandshakeFailedEvent reports a handshake with Server that the client
// gave up on and goes on from: to another server, or to the same one
// again (Config.Reconnect). Err is the verdict, one line that says what was
// tried and the likely causes: it matches ErrNothingListens or
// ErrUnreachable when an ICMP error ended the handshake, ErrNoAnswer when
// its retries ran out. A client that goes on from nowhere returns the
// verdict from Run instead, with a StateEvent of StateFailed.
type HandshakeFailedEvent struct {
	Server netip.AddrPort
	Err    error
	// Next is the server the client tries next: Server itself when it
	// knows no other. Retry is how long it waits before its first KEY_REQ
	// there.
	Next  netip.AddrPort
	Retry time.Duration
}

// NoticeEvent is something the user should know, such as a fallback to
// protocol version 1.
type NoticeEvent struct{ Text string }

// RTTEvent is a round-trip time measured by a keepalive.
type RTTEvent struct{ RTT time.Duration }

func (AttemptEvent) isEvent() {}

func (HandshakeFailedEvent) isEvent() {}

func (NoticeEvent) isEvent() {}

func (RTTEvent) isEvent() {}

func (MessageEvent) isEvent() {}

func (DeliveredEvent) isEvent() {}

func (RefusedEvent) isEvent() {}

func (FailedEvent) isEvent() {}

func (StateEvent) isEvent() {}
