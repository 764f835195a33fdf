package server_test

import (
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

// slowReader wraps a client's transport so that it takes each datagram
// only after every, as a client on a slow machine or link reads.
type slowReader struct {
	core.Transport
	every time.Duration
}

func (s *slowReader) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	time.Sleep(s.every)
	return s.Transport.ReadFrom(p)
}

// TestSlowReader: a receiver that reads ten times slower than the sender
// sends stays connected and is shown every message, once, in order, however
// far behind the room it falls: it is a cursor in the room's log, not a
// queue of copies that fills. RecipientQueue is far below what it falls
// behind, which used to end its session ("fell too far behind"). The
// sender is not held to the receiver's pace for longer than the room's
// brief back-pressure.
func TestSlowReader(t *testing.T) {
	for _, layer := range persistLayers {
		t.Run(layer.Name(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n, every = 300, 10 * time.Millisecond
				room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Layer: layer, Server: func(cfg *server.Config) {
					cfg.RateLimit = server.RateLimit{}
					cfg.RecipientQueue = 16
				}})
				alice := room.JoinWith(nick("alice"))
				bob := room.JoinWith(func(cfg *client.Config) {
					cfg.Nick = "bob"
					cfg.Transport = &slowReader{Transport: cfg.Transport, every: 10 * every}
				})
				alice.WaitMessage("bob's join", isSystem("bob joined"))
				session := bob.Info().Session
				ids := make([]uint64, n)
				for i := range ids {
					ids[i] = alice.Say(fmt.Sprintf("m%03d", i))
					time.Sleep(every)
				}
				alice.WaitDelivered(ids...)
				got := bob.WaitChat(n)
				time.Sleep(10 * time.Second) // anything more would be a duplicate
				synctest.Wait()
				if got = bob.Chat(); len(got) != n {
					t.Fatalf("bob was shown %d messages, want %d, once each", len(got), n)
				}
				for i, m := range got {
					if want := fmt.Sprintf("m%03d", i); m.Text != want || m.From != "alice" {
						t.Fatalf("message %d is %q from %s, want %q from alice", i, m.Text, m.From, want)
					}
				}
				if bob.Info().Session != session || room.Server.Stats().Sessions != 2 {
					t.Fatalf("bob's session changed (%x to %x) or ended: %d sessions", session, bob.Info().Session, room.Server.Stats().Sessions)
				}
				for _, m := range bob.Messages() {
					if m.Kind == core.KindSystem && m.Text != "alice joined" {
						t.Fatalf("bob was told %q", m.Text)
					}
				}
			})
		})
	}
}
