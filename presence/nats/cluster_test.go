package nats_test

import (
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	presence "github.com/udpchat/udpchat/presence/nats"
	"github.com/udpchat/udpchat/roomlog/memory"
	"github.com/udpchat/udpchat/server"
)

// cluster starts n udpchat servers, over UDP on 127.0.0.1, that share a
// room log, a resume key and, through one embedded NATS, their presence:
// nodes n0, n1, ... with the claims' TTL ttl.
func cluster(t *testing.T, n int, ttl time.Duration) []*chattest.Room {
	t.Helper()
	ns := startNATS(t)
	log, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	rooms := make([]*chattest.Room, n)
	for i := range rooms {
		nc := connect(t, ns)
		rooms[i] = chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
			dir, err := presence.New(nc, nil, cfg.Logger, presence.WithNode(fmt.Sprintf("n%d", i)), presence.WithTTL(ttl))
			if err != nil {
				t.Fatal(err)
			}
			cfg.RoomLog, cfg.ResumeKey, cfg.Directory = log, key, dir
			cfg.RateLimit = server.RateLimit{}
		}})
	}
	return rooms
}

func nick(name string) func(*client.Config) {
	return func(cfg *client.Config) { cfg.Nick = name }
}

// errorFor waits for c to be told, as an error, something containing want.
func errorFor(c *chattest.Client, want string) core.Message {
	return c.WaitMessage(want, func(m core.Message) bool { return m.Kind == core.KindError && strings.Contains(m.Text, want) })
}

// who asks c's server who is here, and returns its answer.
func who(t *testing.T, c *chattest.Client) string {
	t.Helper()
	before := len(c.Messages())
	c.Say("/who")
	ms := c.WaitUntil("the answer to /who", func(ms []core.Message) bool {
		for _, m := range ms[min(before, len(ms)):] {
			if m.Kind == core.KindSystem && strings.Contains(m.Text, " here:") {
				return true
			}
		}
		return false
	})
	for _, m := range ms[before:] {
		if m.Kind == core.KindSystem && strings.Contains(m.Text, " here:") {
			return m.Text
		}
	}
	panic("unreachable")
}

// TestClusterPresence: three servers share a room and its people. A
// nickname held on one is refused on another, at the handshake and by
// /nick, in the words a local one is; /msg reaches a user of another
// server, and says "no such user" for one who left; /who lists the users
// of every server; a client whose server died resumes on another under its
// nickname; and the other users of the dead server are gone from /who, and
// their nicknames free, once their claims' TTL has passed.
func TestClusterPresence(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	rooms := cluster(t, 3, ttl)
	a, b, c := rooms[0], rooms[1], rooms[2]
	alice := a.JoinWith(nick("alice"))
	bob := b.JoinWith(nick("bob"))
	carol := c.JoinWith(nick("carol"))
	alice.WaitMessage("carol's join, on another server", func(m core.Message) bool { return m.Text == "carol joined" })

	t.Run("nickname taken", func(t *testing.T) {
		impostor := b.JoinWith(nick("Alice"))
		impostor.WaitDelivered(impostor.Say("hello, I am alice")) // it is confirmed, and claims, as it first speaks
		m := errorFor(impostor, `nickname "Alice" is taken; you are guest`)
		guest := strings.TrimSuffix(strings.Fields(m.Text)[6], " ")
		alice.WaitMessage("the guest's join", func(m core.Message) bool { return m.Text == guest+" joined" })
		bob.WaitDelivered(bob.Say("/nick ALICE"))
		errorFor(bob, `nickname "ALICE" is taken`)
		impostor.Stop()
	})

	t.Run("msg across servers", func(t *testing.T) {
		alice.WaitDelivered(alice.Say("/msg BOB psst"))
		m := bob.WaitMessage("alice's private message", func(m core.Message) bool { return m.Kind == core.KindPrivate })
		if m.From != "alice" || m.Text != "psst" || m.To != "bob" {
			t.Fatalf("bob was sent %+v", m)
		}
		bob.WaitDelivered(bob.Say("/msg carol hi"))
		carol.WaitMessage("bob's private message", func(m core.Message) bool {
			return m.Kind == core.KindPrivate && m.From == "bob" && m.Text == "hi"
		})
		for _, c := range []*chattest.Client{alice, carol} {
			for _, m := range c.Messages() {
				if m.Text == "psst" && c == carol || m.Text == "hi" && c == alice {
					t.Fatalf("%s was shown another's private message %+v", c.Name(), m)
				}
			}
		}
		alice.WaitDelivered(alice.Say("/msg nobody hello"))
		errorFor(alice, "no such user: nobody")
	})

	t.Run("msg to someone who left", func(t *testing.T) {
		dave := b.JoinWith(nick("dave"))
		alice.WaitMessage("dave's join", func(m core.Message) bool { return m.Text == "dave joined" })
		dave.Stop() // says BYE
		alice.WaitMessage("dave's leaving", func(m core.Message) bool { return m.Text == "dave left" })
		alice.WaitDelivered(alice.Say("/msg dave still there?"))
		errorFor(alice, "no such user: dave")
	})

	t.Run("who lists every server", func(t *testing.T) {
		text := who(t, carol)
		for _, want := range []string{"3 here:", "alice (on another server)", "bob (on another server)", "carol (idle "} {
			if !strings.Contains(text, want) {
				t.Fatalf("/who on carol's server says %q, want %q in it", text, want)
			}
		}
	})

	t.Run("dead server", func(t *testing.T) {
		erin := c.JoinWith(nick("erin"))
		ticket := erin.WaitTicket()
		c.StopServer() // as a crash: nothing released
		stopped := time.Now()
		erin.Stop()

		// erin's client comes back on another server, resuming: she
		// keeps her nickname, which her session on the dead one held.
		back := a.JoinWith(func(cfg *client.Config) { cfg.Nick, cfg.Resume = "erin", &ticket })
		back.WaitDelivered(back.Say("back"))
		if back.Name() != "erin" {
			t.Fatalf("erin resumed on another server as %q", back.Name())
		}
		for _, m := range back.Messages() {
			if m.Kind == core.KindError {
				t.Fatalf("erin, resuming, was told %q", m.Text)
			}
		}
		if !strings.Contains(who(t, bob), "erin (on another server)") {
			t.Fatal("erin is not listed after she resumed")
		}

		// carol did not come back: her claim lapses with the TTL.
		deadline := time.Now().Add(testkit.Timeout)
		for strings.Contains(who(t, alice), "carol") {
			if time.Now().After(deadline) {
				t.Fatalf("carol, of a server stopped %v ago, is still listed", time.Since(stopped))
			}
			time.Sleep(ttl / 10)
		}
		gone := time.Since(stopped)
		t.Logf("carol's claim lapsed %v after her server stopped (TTL %v)", gone, ttl)
		if gone < ttl*9/10 {
			t.Fatalf("carol was gone %v after her server stopped, before the TTL (%v)", gone, ttl)
		}
		newCarol := b.JoinWith(nick("carol"))
		newCarol.WaitDelivered(newCarol.Say("hello again"))
		for _, m := range newCarol.Messages() {
			if m.Kind == core.KindError {
				t.Fatalf("a new carol was told %q", m.Text)
			}
		}
		if !strings.Contains(who(t, alice), "carol (on another server)") {
			t.Fatal("the new carol is not listed")
		}
	})
}
