package server_test

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/reliability/window"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

// outage wraps a client's transport: while down, everything it sends and
// everything sent to it is lost, as when its network goes away; while
// mute, only what it sends (its ACKs among it).
type outage struct {
	core.Transport
	down, mute atomic.Bool
}

func (o *outage) WriteTo(p []byte, addr netip.AddrPort) (int, error) {
	if o.down.Load() || o.mute.Load() {
		return len(p), nil
	}
	return o.Transport.WriteTo(p, addr)
}

func (o *outage) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	for {
		n, from, err := o.Transport.ReadFrom(p)
		if err != nil || !o.down.Load() {
			return n, from, err
		}
	}
}

// persistLayers are the layers the server's persisting senders are tested
// with.
var persistLayers = []core.Reliability{stopwait.Layer{}, window.Layer{}}

// persistRoom starts a room on an in-memory network, with no rate limit
// (the sender pastes), a sender alice and a receiver bob behind an outage.
func persistRoom(t *testing.T, layer core.Reliability, idle time.Duration) (room *chattest.Room, alice, bob *chattest.Client, net *outage) {
	room = chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Layer: layer, Server: func(cfg *server.Config) {
		cfg.RateLimit = server.RateLimit{}
		cfg.IdleTimeout = idle
	}})
	alice = room.JoinWith(nick("alice"))
	bob = room.JoinWith(func(cfg *client.Config) {
		cfg.Nick = "bob"
		net = &outage{Transport: cfg.Transport}
		cfg.Transport = net
	})
	alice.WaitMessage("bob's join", isSystem("bob joined"))
	return room, alice, bob, net
}

// TestReceiverOutage: a receiver whose network is down for 30 s, far
// longer than the server's retries used to last (RTO 200 ms, 5 retries),
// comes back in the same session and gets every message sent meanwhile,
// once and in order: the server kept sending them, backing off up to its
// cap, and the idle timeout (60 s) did not run out.
func TestReceiverOutage(t *testing.T) {
	for _, layer := range persistLayers {
		t.Run(layer.Name(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n, down = 50, 30 * time.Second
				room, alice, bob, net := persistRoom(t, layer, server.DefaultIdleTimeout)
				session, started := bob.Info().Session, room.Server.Stats().Handshake

				net.down.Store(true)
				ids := make([]uint64, n)
				for i := range ids {
					ids[i] = alice.Say(fmt.Sprintf("m%02d", i))
				}
				alice.WaitDelivered(ids...)
				relayed := room.Server.Stats().Relayed
				time.Sleep(down)
				synctest.Wait()
				if got := bob.Chat(); len(got) != 0 {
					t.Fatalf("bob got %d messages while his network was down", len(got))
				}
				t.Logf("%d DATA sent to bob during the %v outage", room.Server.Stats().Relayed-relayed, down)
				if st := room.Server.Stats(); st.Sessions != 2 {
					t.Fatalf("%d sessions after the outage, want alice's and bob's", st.Sessions)
				}

				net.down.Store(false)
				back := time.Now()
				bob.WaitChat(n)
				t.Logf("all %d messages shown %v after the network came back", n, time.Since(back))
				time.Sleep(10 * time.Second) // retransmissions in flight land as duplicates, if any
				synctest.Wait()
				got := bob.Chat()
				if len(got) != n {
					t.Fatalf("bob was shown %d messages, want %d, once each", len(got), n)
				}
				for i, m := range got {
					if want := fmt.Sprintf("m%02d", i); m.Text != want || m.From != "alice" {
						t.Fatalf("message %d is %q from %s, want %q from alice", i, m.Text, m.From, want)
					}
				}
				if bob.Info().Session != session || room.Server.Stats().Handshake != started {
					t.Fatalf("bob's session %d became %d, %d sessions started: want the same one", session, bob.Info().Session, room.Server.Stats().Handshake-started)
				}
				for _, m := range alice.Messages() {
					if m.Kind == core.KindSystem && strings.HasPrefix(m.Text, "bob ") && m.Text != "bob joined" {
						t.Fatalf("alice was told %q", m.Text)
					}
				}
			})
		})
	}
}

// TestSilentReceiverEvicted: a receiver that stays silent past the idle
// timeout is given up on then, not before, however many retransmissions it
// missed, and what was waiting for it goes with its session: nothing more
// is sent to it.
func TestSilentReceiverEvicted(t *testing.T) {
	for _, layer := range persistLayers {
		t.Run(layer.Name(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const idle = 20 * time.Second
				room, alice, bob, net := persistRoom(t, layer, idle)
				net.down.Store(true)
				for i := range 5 {
					alice.WaitDelivered(alice.Say(fmt.Sprintf("m%d", i)))
				}
				time.Sleep(idle - 2*time.Second)
				synctest.Wait()
				if n := room.Server.Stats().Sessions; n != 2 {
					t.Fatalf("%d sessions before the idle timeout, want 2: bob was given up on early", n)
				}
				alice.WaitMessage("bob's timeout", isSystem("bob timed out"))
				if n := room.Server.Stats().Sessions; n != 1 {
					t.Fatalf("%d sessions after bob timed out, want 1", n)
				}
				// The server counts a DATA after writing it, which may be
				// after alice has shown it: count once it is all still.
				synctest.Wait()
				relayed := room.Server.Stats().Relayed
				time.Sleep(time.Minute)
				synctest.Wait()
				if d := room.Server.Stats().Relayed - relayed; d != 0 {
					t.Fatalf("%d DATA sent after bob's session ended", d)
				}
				if got := bob.Chat(); len(got) != 0 {
					t.Fatalf("bob, silent, was shown %d messages", len(got))
				}
			})
		})
	}
}

// TestReceiverOutageResumes: a receiver whose network is down for 30 s
// while its client watches the server (Reconnect, keepalive 1 s) takes
// the silence for a lost server after three keepalives, and keeps trying
// to connect again. When its network comes back its KEY_REQ resumes the
// session: the server replaces the ghost at once, under the same nickname
// and unannounced, and replays the room from the offset the client showed
// last. Every message sent meanwhile is shown once, in order, and none
// shown before the outage is shown again, though the ghost kept
// retransmitting them to the same address until it was replaced.
func TestReceiverOutageResumes(t *testing.T) {
	for _, layer := range persistLayers {
		t.Run(layer.Name(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const before, n, down = 5, 50, 30 * time.Second
				room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Layer: layer, Server: func(cfg *server.Config) {
					cfg.RateLimit = server.RateLimit{}
				}})
				alice := room.JoinWith(nick("alice"))
				var net *outage
				bob := room.JoinWith(func(cfg *client.Config) {
					cfg.Nick, cfg.Reconnect, cfg.Keepalive = "bob", true, time.Second
					net = &outage{Transport: cfg.Transport}
					cfg.Transport = net
				})
				alice.WaitMessage("bob's join", isSystem("bob joined"))
				for i := range before {
					alice.WaitDelivered(alice.Say(fmt.Sprintf("b%d", i)))
				}
				bob.WaitChat(before)
				session, started := bob.Info().Session, room.Server.Stats().Handshake

				net.down.Store(true)
				ids := make([]uint64, n)
				for i := range ids {
					ids[i] = alice.Say(fmt.Sprintf("m%02d", i))
				}
				alice.WaitDelivered(ids...)
				time.Sleep(down)
				synctest.Wait()
				if got := bob.Chat(); len(got) != before {
					t.Fatalf("bob was shown %d messages, want the %d before his network went down", len(got), before)
				}
				bob.WaitState(client.StateReconnecting)

				net.down.Store(false)
				back := time.Now()
				bob.WaitChat(before + n)
				t.Logf("all %d messages shown %v after the network came back", n, time.Since(back))
				time.Sleep(10 * time.Second) // retransmissions in flight land as duplicates, if any
				synctest.Wait()
				got := bob.Chat()
				if len(got) != before+n {
					t.Fatalf("bob was shown %d messages, want %d, once each: %q", len(got), before+n, texts(got))
				}
				for i, m := range got {
					want := fmt.Sprintf("b%d", i)
					if i >= before {
						want = fmt.Sprintf("m%02d", i-before)
					}
					if m.Text != want || m.From != "alice" {
						t.Fatalf("message %d is %q from %s, want %q from alice", i, m.Text, m.From, want)
					}
				}
				if bob.Info().Session == session || room.Server.Stats().Handshake == started {
					t.Fatal("bob's client never connected again: the outage did not test resume")
				}
				if nick := bob.Info().Nick; nick != "bob" {
					t.Fatalf("bob came back as %q", nick)
				}
				if st := room.Server.Stats(); st.Sessions != 2 {
					t.Fatalf("%d sessions, want alice's and bob's: the ghost stayed", st.Sessions)
				}
				for _, m := range alice.Messages() {
					if m.Kind == core.KindSystem && strings.Contains(m.Text, "bob") && m.Text != "bob joined" {
						t.Fatalf("alice was told %q", m.Text)
					}
				}
				joined := 0
				for _, m := range alice.Messages() {
					if m.Kind == core.KindSystem && m.Text == "bob joined" {
						joined++
					}
				}
				if joined != 1 {
					t.Fatalf("alice was told bob joined %d times, want once: the resume was announced", joined)
				}
			})
		})
	}
}
