package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
)

// TestBackPressure: senders going flat out into a room whose recipients'
// queues are small lose nothing: the server holds the senders' ACKs while a
// recipient is far behind, so the senders slow down to what the room takes.
func TestBackPressure(t *testing.T) {
	for _, layer := range layers {
		t.Run(layer.Name(), func(t *testing.T) {
			room := chattest.Start(t, chattest.Options{Layer: layer, Server: func(cfg *server.Config) {
				noRateLimit(cfg)
				cfg.RecipientQueue = 8 // recipients fall behind at once
			}})
			const senders, each = 3, 60
			var clients []*chattest.Client
			for range senders + 1 {
				clients = append(clients, room.Join())
			}
			for i, c := range clients[:senders] {
				var ids []uint64
				for j := range each {
					ids = append(ids, c.Say(fmt.Sprintf("from %d: %d", i, j)))
				}
				defer c.WaitDelivered(ids...) // all of them, concurrently
			}
			listener := clients[senders]
			got := listener.WaitChat(senders * each)
			next := make(map[string]int)
			for _, m := range got {
				from, n, ok := strings.Cut(m.Text, ": ")
				if !ok || n != fmt.Sprint(next[from]) {
					t.Fatalf("got %q after %d from %s: lost or out of order", m.Text, next[from], from)
				}
				next[from]++
			}
		})
	}
}

// TestSilentRecipientLags: a recipient that stops acknowledging is not
// waited for for ever, and is not dropped for it either: everyone else gets
// every message, and it is still in the room (only IdleTimeout of silence
// ends a session), a cursor behind the room's head.
func TestSilentRecipientLags(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		noRateLimit(cfg)
		cfg.RecipientQueue = 8 // the room waits for a recipient 2 behind
	}})
	alice, bob := room.Join(), room.Join()
	silent := room.Raw()
	silent.HandshakeV2(chattest.Keys.Key(3), "silent")
	silent.SendPacket(silent.SealPacket(&core.Packet{Type: core.TypePing, Seq: 1, HasSeq: true}, nil)) // joins, then goes silent
	alice.WaitMessage("silent joins", func(m core.Message) bool { return m.Text == "silent joined" })
	const n = 40
	var ids []uint64
	for i := range n {
		ids = append(ids, alice.Say(fmt.Sprint(i)))
	}
	alice.WaitDelivered(ids...)
	for i, m := range bob.WaitChat(n) {
		if m.Text != fmt.Sprint(i) {
			t.Fatalf("bob's message %d is %q", i, m.Text)
		}
	}
	if !slices.ContainsFunc(room.Server.Users(), func(u core.User) bool { return u.Name == "silent" }) {
		t.Fatalf("the silent recipient was dropped for lagging: users %v", room.Server.Users())
	}
}
