package client_test

import (
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/transport/memory"
)

// endsSession matches the events a client gives when it lets its session
// go: it fails (no Reconnect) or starts another one.
func endsSession(e client.Event) bool {
	s, ok := e.(client.StateEvent)
	return ok && (s.State == client.StateFailed || s.State == client.StateReconnecting || s.State == client.StateHandshaking)
}

// TestForgedByeKeepsSession (issue 15, finding 9): the session id travels
// in clear, so anyone who saw one datagram can write the unsealed
// {"type": "BYE", "sid": S} a restarted server sends, from the server's
// address. A client whose server still holds the session must not end
// it: the server's next sealed packet, or its sealed answer to the
// client's check, shows the BYE was not the server's.
func TestForgedByeKeepsSession(t *testing.T) {
	network := memory.NewNetwork()
	s := newFakeServer(t, network)
	c := dialFake(t, network, s, func(cfg *client.Config) {
		cfg.Reconnect = false
		cfg.Keepalive = 300 * time.Millisecond
	})
	s.accept(1, "alice")
	c.connected()

	// A forged BYE, and the server goes on talking in the session.
	s.lose()
	c.stillShows(s, "still here")

	// A forged BYE while the room is quiet: the client checks with the
	// server, which answers in the session; the client's next packet is
	// then its keepalive, not a new handshake.
	s.lose()
	ping := s.next(core.TypePing)
	plain, err := s.keys.Open(nil, ping.Payload, ping.AD())
	if err != nil {
		t.Fatal(err)
	}
	s.seal(&core.Packet{Type: core.TypePong, Seq: ping.Seq, HasSeq: true}, plain)
	deadline := time.After(chattest.Timeout)
	for next := false; !next; {
		select {
		case a := <-s.in:
			switch a.p.Type {
			case core.TypeKeyReq:
				t.Fatal("the client began a new session after a forged BYE its server answered for")
			case core.TypePing:
				next = a.p.Seq > ping.Seq+2 // past the probes: a keepalive
				if next {
					break
				}
				if p, err := s.keys.Open(nil, a.p.Payload, a.p.AD()); err == nil {
					s.seal(&core.Packet{Type: core.TypePong, Seq: a.p.Seq, HasSeq: true}, p)
				}
			}
		case <-deadline:
			t.Fatalf("no keepalive within %v", chattest.Timeout)
		}
	}
	c.stillShows(s, "and still")
}

// stillShows has s send text in the session, and fails if c lets the
// session go before it shows it.
func (c *fakeClient) stillShows(s *fakeServer, text string) {
	c.t.Helper()
	s.send(chat(0, text))
	if e, _ := c.until("message or end of session", func(e client.Event) bool {
		m, ok := e.(client.MessageEvent)
		return ok && m.Message.Text == text || endsSession(e)
	}); endsSession(e) {
		c.t.Fatalf("an unsealed BYE from the server's address ended a live session: %+v", e)
	}
}

// TestLostSessionStillEnds: a server that really lost the session answers
// the client's checks with nothing sealed, and the client, without
// Reconnect, ends (with it, it reconnects: the resume tests).
func TestLostSessionStillEnds(t *testing.T) {
	network := memory.NewNetwork()
	s := newFakeServer(t, network)
	c := dialFake(t, network, s, func(cfg *client.Config) { cfg.Reconnect = false })
	s.accept(1, "alice")
	c.connected()
	s.lose()
	c.until("the end of the session", func(e client.Event) bool {
		s, ok := e.(client.StateEvent)
		return ok && s.State == client.StateFailed
	})
}
