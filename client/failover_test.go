package client_test

import (
	"crypto/ed25519"
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
)

// TestFailover: a client that knows two servers of a room, whose server
// dies, moves to the other by itself and resumes there: under its
// nickname, shown what was said on the other server meanwhile exactly
// once and nothing it had shown again, and a line typed while its server
// was dead is delivered there. The second server's key is pinned on first
// use under its own address, beside the first's. Without Reconnect (plain
// mode) as with it (the terminal UI).
func TestFailover(t *testing.T) {
	for _, reconnect := range []bool{true, false} {
		name := "plain"
		if reconnect {
			name = "reconnect"
		}
		t.Run(name, func(t *testing.T) { testFailover(t, reconnect) })
	}
}

func testFailover(t *testing.T, reconnect bool) {
	rooms := chattest.StartCluster(t, 2, chattest.Options{Reliability: core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 3}})
	a, b := rooms[0], rooms[1]
	file := identity.KnownServers{Path: filepath.Join(t.TempDir(), "known_servers")}
	alice := a.JoinWith(func(cfg *client.Config) {
		cfg.Nick, cfg.Reconnect, cfg.Keepalive = "alice", reconnect, 200*time.Millisecond
		cfg.Fallbacks = []netip.AddrPort{b.Addr}
		cfg.Servers = &identity.Pins{File: file}
	})
	carol := a.JoinWith(func(cfg *client.Config) { cfg.Nick = "carol" })
	bob := b.JoinWith(func(cfg *client.Config) { cfg.Nick = "bob" })
	carol.WaitDelivered(carol.Say("said on A"))
	alice.WaitMessage("carol's message on A", func(m core.Message) bool { return m.Text == "said on A" })

	a.StopServer()
	typed := alice.Say("typed while A was down")
	bob.WaitDelivered(bob.Say("said on B 1"), bob.Say("said on B 2"))
	alice.WaitDelivered(typed)
	bob.WaitMessage("alice's line typed while A was down", func(m core.Message) bool {
		return m.Text == "typed while A was down" && m.From == "alice"
	})
	bob.WaitDelivered(bob.Say("said on B 3"))
	alice.WaitMessage("bob's last", func(m core.Message) bool { return m.Text == "said on B 3" })

	if info := alice.Info(); info.Server != b.Addr || info.Nick != "alice" {
		t.Fatalf("after A stopped, alice is on %v as %q; want %v as alice", info.Server, info.Nick, b.Addr)
	}
	var shown []string
	for _, m := range alice.Chat() {
		shown = append(shown, m.Text)
	}
	want := []string{"said on A", "said on B 1", "said on B 2", "said on B 3"}
	if !slices.Equal(shown, want) {
		t.Fatalf("alice was shown %q, want %q: each once, in order", shown, want)
	}
	for _, r := range []*chattest.Room{a, b} {
		key, found, err := file.Lookup(r.Addr.String())
		if err != nil || !found || !key.Equal(r.Identity.Public().(ed25519.PublicKey)) {
			t.Errorf("known_servers pins %v for %v (found %v, %v), want its own key", key, r.Addr, found, err)
		}
	}
}

// TestFailoverFirstDead: a client whose first server has nothing
// listening connects to the next one once its handshake retries are
// spent; one given only dead servers gives up once it has tried each,
// naming them.
func TestFailoverFirstDead(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	dead, other := chattest.DeadAddr(t), chattest.DeadAddr(t)
	short := func(cfg *client.Config) {
		cfg.HandshakeRTO, cfg.HandshakeRetries = 50*time.Millisecond, 1
	}

	c := room.JoinWith(func(cfg *client.Config) {
		short(cfg)
		cfg.Server, cfg.Fallbacks = dead, []netip.AddrPort{room.Addr}
	})
	if got := c.Info().Server; got != room.Addr {
		t.Fatalf("connected to %v, want %v", got, room.Addr)
	}
	c.WaitDelivered(c.Say("hello from the second address"))

	lost := room.Dial(func(cfg *client.Config) {
		short(cfg)
		cfg.Server, cfg.Fallbacks = dead, []netip.AddrPort{other}
	})
	err := lost.RunErr()
	if !errors.Is(err, client.ErrNoAnswer) || !strings.Contains(err.Error(), dead.String()) || !strings.Contains(err.Error(), other.String()) {
		t.Fatalf("with two dead servers Run returned %v; want no answer, naming both", err)
	}
}
