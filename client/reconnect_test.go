package client_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/transport/memory"
)

// TestReconnect: when the server restarts, a client set to reconnect says
// so, starts a new session by itself, and sends what was typed meanwhile;
// nothing is lost silently.
func TestReconnect(t *testing.T) { testReconnect(t, nil) }

// TestReconnectFakeClock is TestReconnect on synctest's clock and the
// in-memory network, where nothing comes late by chance: the message typed
// while the server is down is retransmitted for exactly as long (RTO 100 ms,
// 3 retries) as the server's silence takes to count as gone (three
// keepalives of 100 ms), and the client must reconnect and send it, not
// give up on it because its retransmissions ran out first.
func TestReconnectFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { testReconnect(t, memory.NewNetwork()) })
}

func testReconnect(t *testing.T, network core.Network) {
	room := chattest.Start(t, chattest.Options{Network: network, Reliability: core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 3}})
	reconnecting := func(name string) func(*client.Config) {
		return func(cfg *client.Config) {
			cfg.Nick, cfg.Reconnect, cfg.Keepalive = name, true, 100*time.Millisecond
		}
	}
	alice, bob := room.JoinWith(reconnecting("alice")), room.JoinWith(reconnecting("bob"))
	alice.WaitDelivered(alice.Say("before"))
	bob.WaitChat(1)

	// A restart the clients learn of when they next speak: the new server
	// tells them it does not know their session.
	room.RestartServer()
	alice.WaitDelivered(alice.Say("after the restart"))
	alice.WaitState(client.StateReconnecting)
	bob.WaitMessage("alice's message after the restart", func(m core.Message) bool { return m.Text == "after the restart" })

	// A server down for a while: what is typed meanwhile waits and goes.
	room.StopServer()
	id := alice.Say("typed while the server was down")
	alice.WaitStates(client.StateReconnecting, 2)
	room.RestartServer()
	alice.WaitDelivered(id)
	bob.WaitMessage("the message typed while down", func(m core.Message) bool { return m.Text == "typed while the server was down" })
}

// TestRestartKeepsNickSaysMissed: a server restart loses the in-memory
// room log. A client that took another nickname with /nick comes back under
// it, not under the one it was configured with, and tells its user, once,
// that messages may have been missed: the new server's session message
// brings another epoch of the log.
func TestRestartKeepsNickSaysMissed(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Reliability: core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 3}})
	reconnecting := func(name string) func(*client.Config) {
		return func(cfg *client.Config) {
			cfg.Nick, cfg.Reconnect, cfg.Keepalive = name, true, 100*time.Millisecond
		}
	}
	alice, bob := room.JoinWith(reconnecting("alice")), room.JoinWith(reconnecting("bob"))
	alice.WaitDelivered(alice.Say("/nick carol"))
	bob.WaitMessage("the rename", func(m core.Message) bool { return m.Text == "alice is now known as carol" })
	if n := alice.Notices(); len(n) != 0 {
		t.Fatalf("notices before the restart: %q", n)
	}

	room.RestartServer()
	bob.WaitDelivered(bob.Say("back"))
	alice.WaitDelivered(alice.Say("after the restart"))
	alice.WaitNotice(missedNotice)
	if nick := alice.Info().Nick; nick != "carol" {
		t.Fatalf("reconnected as %q, want carol", nick)
	}
	bob.WaitMessage("carol's message after the restart", func(m core.Message) bool {
		return m.Text == "after the restart" && m.From == "carol"
	})
	// One restart, one notice: not one per handshake attempt, nor again
	// for carol's own messages.
	if n := alice.Notices(); len(n) != 1 || n[0] != missedNotice {
		t.Fatalf("notices after one restart: %q, want %q once", n, missedNotice)
	}
}

// missedNotice is what the client says when the server lost the room's log.
const missedNotice = "missed messages: server restarted"
