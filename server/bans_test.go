package server_test

import (
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/server"
)

// shutOut dials the room as a client with key and nickname nick, and
// fails the test unless its handshake finds no answer: a banned client
// gets no session.
func shutOut(t *testing.T, room *chattest.Room, name string, key ed25519.PrivateKey) {
	t.Helper()
	c := room.Dial(func(cfg *client.Config) {
		cfg.Nick, cfg.Identity = name, key
		cfg.HandshakeRTO, cfg.HandshakeRetries = 50*time.Millisecond, 2
	})
	if err := c.RunErr(); err == nil {
		t.Fatalf("%s connected, banned", name)
	}
}

// TestServerOperatorBans: the server's operators (by their client key, in
// the configuration) kick, mute and ban in the lobby; nobody else may. A
// ban for a minute ends the banned session at once, keeps its key out,
// and is over after the minute. Bans are kept in their file: a restarted
// server still holds them, until they are lifted.
func TestServerOperatorBans(t *testing.T) {
	var skew atomic.Int64
	path := filepath.Join(t.TempDir(), server.BansFile)
	opKey, bobKey, carolKey := newKey(t), newKey(t), newKey(t)
	room := chattest.Start(t, chattest.Options{Server: func(c *server.Config) {
		noRateLimit(c)
		c.Operators = []string{identity.Fingerprint(opKey.Public().(ed25519.PublicKey))}
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		c.IdleTimeout = time.Hour          // the clock jumps a minute: nobody is idle for it
		bans, err := server.OpenBans(path) // at every start: what the file kept
		if err != nil {
			t.Fatal(err)
		}
		c.Bans = bans
	}})
	op := room.JoinWith(keyed("oper", opKey))
	bob := room.JoinWith(keyed("bob", bobKey))
	carol := room.JoinWith(keyed("carol", carolKey))
	dave := room.JoinWith(nick("dave")) // no key: the client's own default is none in tests

	// Not for carol.
	for _, line := range []string{"/ban bob", "/unban bob", "/bans"} {
		refusedWith(t, carol, line, "only the server's operators ban")
	}
	refusedWith(t, carol, "/kick bob", "you are not an operator of #lobby")
	refusedWith(t, carol, "/mute bob", "you are not an operator of #lobby")

	// The operator mutes in the lobby, and kicks off the server.
	sayOK(t, op, "/mute bob")
	refusedWith(t, bob, "muted in the lobby", "you are muted in #lobby")
	sayOK(t, op, "/unmute bob")
	sayOK(t, bob, "heard again")
	sayOK(t, op, "/kick dave flooding")
	dave.WaitMessage("dave's kick", func(m core.Message) bool {
		return m.Kind == core.KindError && m.Text == "you were kicked from #lobby: flooding by oper"
	})
	carol.WaitMessage("the kick", isSystem("oper kicked dave from #lobby: flooding"))

	// A ban for a minute.
	sayOK(t, op, "/ban bob 1m spam")
	bob.WaitMessage("bob's ban", func(m core.Message) bool {
		return m.Kind == core.KindError && strings.HasPrefix(m.Text, "you are banned from this server: oper banned bob for 1m0s: spam")
	})
	carol.WaitMessage("the ban", isSystem("oper banned bob for 1m0s: spam"))
	bob.Stop()
	shutOut(t, room, "bob", bobKey)
	skew.Store(int64(61 * time.Second))
	back := room.JoinWith(keyed("bob", bobKey))
	sayOK(t, back, "the minute is over")

	// Bans without an end, by key and by nickname, survive a restart.
	carolFP := identity.Fingerprint(carolKey.Public().(ed25519.PublicKey))
	sayOK(t, op, "/ban key:"+carolFP)
	sayOK(t, op, "/ban nick:Mallory no mallories")
	sayOK(t, op, "/bans")
	list := systemWith(op, "2 bans:")
	if !strings.Contains(list, "key:"+carolFP+" by oper") || !strings.Contains(list, "nick:mallory by oper: no mallories") {
		t.Errorf("/bans = %q", list)
	}
	room.RestartServer()
	shutOut(t, room, "carol", carolKey)
	mallory := room.JoinWith(nick("mallory"))
	if got := mallory.Info().Nick; strings.EqualFold(got, "mallory") {
		t.Errorf("a banned nickname was given out: %q", got)
	}
	refusedWith(t, mallory, "/nick MALLORY", "banned from this server")

	op = room.JoinWith(keyed("oper", opKey))
	sayOK(t, op, "/unban key:"+carolFP)
	refusedWith(t, op, "/unban key:"+carolFP, "not banned")
	room.JoinWith(keyed("carol", carolKey))
}
