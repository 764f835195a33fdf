package server_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

// TestResumeKeepsChannels: bob is in #go when his network fails, first
// one way (his ACKs lost, what the server sends him shown) and then both
// ways, while alice talks in #go. When it comes back his client resumes:
// he is in #go still, and is shown every line of #go once, in order:
// what was on its way to the lost session is sent again, and what he was
// shown already is not shown twice.
func TestResumeKeepsChannels(t *testing.T) {
	for _, layer := range persistLayers {
		t.Run(layer.Name(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 40
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
				alice.WaitDelivered(alice.Say("/join #go"))
				bob.WaitDelivered(bob.Say("/join #go"))
				sayIn := func(i int) uint64 { return alice.Say(fmt.Sprintf("g%02d", i)) }
				alice.WaitDelivered(sayIn(0))
				// The lines of #go among ms (WaitUntil's, or all of bob's).
				goLines := func(ms []core.Message) []string {
					var out []string
					for _, m := range ms {
						if m.Room == "#go" && m.Kind == core.KindChat {
							out = append(out, m.Text)
						}
					}
					return out
				}
				bob.WaitUntil("g00", func(ms []core.Message) bool { return len(goLines(ms)) == 1 })
				session := bob.Info().Session

				net.mute.Store(true) // bob sees, the server does not hear him
				ids := []uint64{}
				for i := 1; i < n/2; i++ {
					ids = append(ids, sayIn(i))
				}
				alice.WaitDelivered(ids...)
				time.Sleep(2 * time.Second)
				synctest.Wait()
				net.down.Store(true)
				ids = ids[:0]
				for i := n / 2; i < n; i++ {
					ids = append(ids, sayIn(i))
				}
				alice.WaitDelivered(ids...)
				time.Sleep(30 * time.Second)
				synctest.Wait()
				net.mute.Store(false)
				net.down.Store(false)

				bob.WaitUntil("all of #go", func(ms []core.Message) bool { return len(goLines(ms)) >= n })
				time.Sleep(10 * time.Second) // what is still on its way lands, as duplicates if any
				synctest.Wait()
				got := goLines(bob.Messages())
				if len(got) != n {
					t.Fatalf("bob was shown %d lines of #go, want %d once each: %q", len(got), n, got)
				}
				for i, text := range got {
					if want := fmt.Sprintf("g%02d", i); text != want {
						t.Fatalf("line %d of #go is %q, want %q", i, text, want)
					}
				}
				if bob.Info().Session == session {
					t.Fatal("bob's client never started a new session: the outage did not test resume")
				}
				alice.WaitDelivered(alice.Say("after the resume"))
				bob.WaitMessage("alice's next line in #go", func(m core.Message) bool { return m.Text == "after the resume" && m.Room == "#go" })
				if delivered, refused, _ := bob.WaitVerdict(bob.SayIn("#go", "still in #go")); !delivered {
					t.Fatalf("bob's line in #go after the resume: refused %q", refused)
				}
			})
		})
	}
}
