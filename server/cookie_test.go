package server_test

import (
	"fmt"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
)

// TestCookieRoundTrip: a server that asks for cookies answers a version 2
// KEY_REQ without one with a COOKIE no larger than the KEY_REQ, and starts
// nothing; the same KEY_REQ with the cookie, from the same address, gets its
// KEY_REP; from another address the cookie is worth nothing. Real clients
// go through the round trip without noticing, and seed clients are never
// asked.
func TestCookieRoundTrip(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		cfg.CookieThreshold = -1 // always
	}})
	c := room.Raw()
	hello, _ := c.Hello(chattest.Keys.Key(0))
	hello.Version, hello.Nick, hello.Suites = 2, "cookie", []string{seed.Name}
	dg, err := c.Codec.Append(nil, hello)
	if err != nil {
		t.Fatal(err)
	}
	c.Send(dg)
	answer := c.ReadType(core.TypeCookie)
	if len(answer.Cookie) != server.CookieLen {
		t.Fatalf("COOKIE carries %d bytes, want %d", len(answer.Cookie), server.CookieLen)
	}
	if size, _ := c.Codec.Append(nil, answer); len(size) > len(dg) {
		t.Fatalf("COOKIE of %d bytes answers a KEY_REQ of %d", len(size), len(dg))
	}
	if st := room.Server.Stats(); st.Handshake != 0 || st.Sessions != 0 || st.Cookies != 1 {
		t.Fatalf("after a KEY_REQ without a cookie: %+v, want no session and one COOKIE", st)
	}

	stranger := room.Raw()
	hello.Cookie = answer.Cookie
	stranger.SendPacket(hello)
	stranger.ReadType(core.TypeCookie) // a new cookie, for its own address

	c.SendPacket(hello)
	rep := c.ReadType(core.TypeKeyRep)
	if rep.Version != 2 || rep.Nick != "cookie" {
		t.Fatalf("KEY_REP %v, nick %q", rep, rep.Nick)
	}
	if st := room.Server.Stats(); st.Handshake != 1 {
		t.Fatalf("%d sessions started, want 1", st.Handshake)
	}

	v1 := room.Raw()
	v1.Handshake(chattest.Keys.Key(1)) // a seed client: no cookie asked

	alice, bob := room.JoinWith(nick("alice")), room.JoinWith(nick("bob"))
	alice.WaitDelivered(alice.Say("through the cookie"))
	bob.WaitMessage("alice's message", func(m core.Message) bool { return m.Text == "through the cookie" })
}

// TestCookiesUnderLoad: spoofed handshakes (from addresses that never
// answer) start sessions only until the half-open count reaches the
// threshold; from then on each costs the server one MAC and a COOKIE, no
// RSA work and no state, while real clients still get in and chat.
func TestCookiesUnderLoad(t *testing.T) {
	const threshold = 4
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		cfg.CookieThreshold = threshold
		// As if every spoofed KEY_REQ came from another address.
		cfg.HandshakeLimit = server.RateLimit{}
	}})
	spoofers := make([]*chattest.RawClient, 50)
	for i := range spoofers {
		spoofers[i] = room.Raw()
	}
	for round := range 4 {
		for i, s := range spoofers {
			hello, _ := s.Hello(chattest.Keys.Key((i + round) % 4)) // a new handshake each round
			hello.Version, hello.Nick, hello.Suites = 2, fmt.Sprintf("s%d", i), []string{seed.Name}
			s.SendPacket(hello)
		}
	}
	// The spoofers' last KEY_REQs have been handled once a real client is in.
	alice := room.JoinWith(nick("alice"))
	bob := room.JoinWith(nick("bob"))
	bob.WaitDelivered(bob.Say("still here"))
	alice.WaitMessage("bob's message", func(m core.Message) bool { return m.Text == "still here" })

	st := room.Server.Stats()
	t.Logf("200 spoofed KEY_REQs: %d sessions started in all, %d COOKIEs sent", st.Handshake, st.Cookies)
	// The spoofers' sessions, the two real clients'.
	if st.Handshake > threshold+2 {
		t.Fatalf("%d sessions started, want at most %d", st.Handshake, threshold+2)
	}
	if st.Cookies < 200-threshold {
		t.Fatalf("%d COOKIEs, want at least %d", st.Cookies, 200-threshold)
	}
}

// TestSpoofedKeyReqCannotReplace: a KEY_REQ from the address of a proven
// version 2 session, which anyone can forge, does not end that session: it
// is answered with a COOKIE, which only the real address sees. The client
// itself, restarted on the same port, answers it and starts over.
func TestSpoofedKeyReqCannotReplace(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	c := room.Raw()
	c.HandshakeV2(chattest.Keys.Key(0), "victim")
	c.SendPacket(c.SealPacket(&core.Packet{Type: core.TypePing, Seq: 1, HasSeq: true}, nil))
	c.ReadV2(core.TypePong)

	restart, _ := c.Hello(chattest.Keys.Key(1))
	restart.Version, restart.Nick, restart.Suites = 2, "victim", []string{seed.Name}
	c.SendPacket(restart)
	cookie := c.ReadType(core.TypeCookie)
	seedReq, _ := c.Hello(chattest.Keys.Key(2)) // version 1: no cookie possible
	c.SendPacket(seedReq)
	c.SendPacket(c.SealPacket(&core.Packet{Type: core.TypePing, Seq: 2, HasSeq: true}, nil))
	c.ReadV2(core.TypePong) // the session lives
	if st := room.Server.Stats(); st.Handshake != 1 || st.Sessions != 1 {
		t.Fatalf("after KEY_REQs without a cookie: %+v, want the one session", st)
	}

	restart.Cookie = cookie.Cookie
	c.SendPacket(restart)
	if rep := c.ReadType(core.TypeKeyRep); rep.Nick != "victim" {
		t.Fatalf("the restarted client is %q", rep.Nick)
	}
	if st := room.Server.Stats(); st.Handshake != 2 || st.Sessions != 1 {
		t.Fatalf("after the restart: %+v, want the new session in place of the old", st)
	}
}
