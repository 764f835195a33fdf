package server_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/server"
)

// TestSessionsPerAddress: one IP address, with its handshake rate off (as
// if it had taken its time), opens at most the per-address cap of
// sessions, and one /24 at most the per-prefix cap, whatever max_sessions
// allows; other addresses still get in.
func TestSessionsPerAddress(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		cfg.HandshakeLimit = server.RateLimit{}
		cfg.MaxSessionsPerAddr, cfg.MaxSessionsPerPrefix = 0, 0 // the defaults: 32 and 128 of 4096
	}, Logger: discardLogger()})
	hello, _ := room.Raw().Hello(chattest.Keys.Key(0))
	dg, err := jsoncodec.Codec{}.Append(nil, hello)
	if err != nil {
		t.Fatal(err)
	}
	to := net.UDPAddrFromAddrPort(room.Addr)
	send := func(ip string, n int) {
		for range n {
			c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(ip+":0")))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			if _, err := c.WriteToUDP(dg, to); err != nil {
				t.Fatal(err)
			}
		}
	}
	received := room.Server.Stats().Received
	send("127.0.0.1", 100)
	testkit.WaitUntil(t, "100 KEY_REQs handled", func() bool { return room.Server.Stats().Received >= received+100 })
	if n := room.Server.Stats().Sessions; n > 32 {
		t.Fatalf("%d sessions from one address", n)
	}
	for i := 2; i <= 9; i++ {
		send(fmt.Sprintf("127.0.0.%d", i), 40)
	}
	testkit.WaitUntil(t, "420 KEY_REQs handled", func() bool { return room.Server.Stats().Received >= received+420 })
	if n := room.Server.Stats().Sessions; n > 128 {
		t.Fatalf("%d sessions from one /24", n)
	}
	sessions := room.Server.Stats().Sessions
	send("127.0.1.1", 1) // another /24
	testkit.WaitUntil(t, "a session from another prefix", func() bool { return room.Server.Stats().Sessions > sessions })
}

// TestUnprovenEvictedAtCap: with max_sessions taken by sessions that never
// proved their addresses (forged KEY_REQs of version 1, which takes no
// cookie), a real client still gets in, in place of the oldest of them,
// and chats; the table stays at its cap.
func TestUnprovenEvictedAtCap(t *testing.T) {
	const maxSessions = 8
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		cfg.MaxSessions = maxSessions
		cfg.HandshakeLimit = server.RateLimit{}
	}})
	for i := range maxSessions {
		c := room.Raw()
		hello, _ := c.Hello(chattest.Keys.Key(i))
		c.SendPacket(hello)
		c.ReadType(core.TypeKeyRep)
	}
	alice := room.JoinWith(nick("alice"))
	bob := room.JoinWith(nick("bob"))
	bob.WaitDelivered(bob.Say("in at the cap"))
	alice.WaitMessage("bob's line", func(m core.Message) bool { return m.Text == "in at the cap" })
	if n := room.Server.Stats().Sessions; n != maxSessions {
		t.Fatalf("%d sessions, want the cap of %d", n, maxSessions)
	}
}
