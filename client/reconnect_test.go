package client_test

import (
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
)

// TestReconnect: when the server restarts, a client set to reconnect says
// so, starts a new session by itself, and sends what was typed meanwhile;
// nothing is lost silently.
func TestReconnect(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Reliability: core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 3}})
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
