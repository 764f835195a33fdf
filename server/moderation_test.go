package server_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
)

// refusedWith says line as c and fails the test unless the server refuses
// it with a reason that contains want.
func refusedWith(t *testing.T, c *chattest.Client, line, want string) {
	t.Helper()
	id := c.Say(line)
	if delivered, refused, failed := c.WaitVerdict(id); delivered || failed != nil || !strings.Contains(refused, want) {
		t.Fatalf("%s: %q: delivered %v, refused %q, failed %v; want refused with %q", c.Name(), line, delivered, refused, failed, want)
	}
}

// TestChannelModeration: whoever opens a channel runs it; what its
// operators may do (op, kick, mute for a while or until undone, lock the
// topic), nobody else may, and each action is announced in the channel. A
// mute is in its channel only, and ends when its time is up.
func TestChannelModeration(t *testing.T) {
	var skew atomic.Int64 // the server's clock runs this far ahead
	room := chattest.Start(t, chattest.Options{Server: func(c *server.Config) {
		noRateLimit(c)
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		c.IdleTimeout = time.Hour // the clock jumps a minute: nobody is idle for it
	}})
	alice, bob, carol := room.JoinWith(nick("alice")), room.JoinWith(nick("bob")), room.JoinWith(nick("carol"))
	for _, c := range []*chattest.Client{alice, bob, carol} {
		sayOK(t, c, "/join #mod")
	}
	announced := func(c *chattest.Client, text string) {
		t.Helper()
		c.WaitMessage("announcement "+text, func(m core.Message) bool {
			return m.Kind == core.KindSystem && m.Room == "#mod" && m.Text == text
		})
	}

	// bob runs nothing.
	for _, line := range []string{"/kick carol", "/mute carol", "/unmute carol", "/op bob", "/deop alice", "/topiclock on"} {
		refusedWith(t, bob, line, "you are not an operator of #mod")
	}
	refusedWith(t, bob, "/kick", "usage: /kick NAME")

	// alice, who opened #mod, locks its topic.
	sayOK(t, alice, "/topiclock on")
	announced(carol, "alice locked the topic of #mod: only its operators set it")
	refusedWith(t, bob, "/topic mine now", "the topic of #mod is locked")
	sayOK(t, alice, "/topic moderated")

	// A mute for a minute: bob is silent in #mod, not in the lobby, and
	// speaks again once the minute is over.
	sayOK(t, alice, "/mute bob 1m")
	announced(carol, "alice muted bob in #mod for 1m")
	refusedWith(t, bob, "muted line", "you are muted in #mod")
	refusedWith(t, bob, "/me tries", "you are muted in #mod")
	refusedWith(t, bob, "/topic muted topic", "you are muted in #mod")
	sayOK(t, bob, "/who") // what says nothing to the channel still works
	sayOK(t, bob, "/join #lobby")
	sayOK(t, bob, "bob in the lobby")
	sayOK(t, bob, "/join #mod")
	skew.Store(int64(61 * time.Second))
	sayOK(t, bob, "bob back in mod")
	carol.WaitMessage("bob's line", func(m core.Message) bool { return m.Text == "bob back in mod" && m.Room == "#mod" })

	// Until undone.
	sayOK(t, alice, "/mute bob")
	refusedWith(t, bob, "still muted", "you are muted in #mod")
	sayOK(t, alice, "/unmute bob")
	announced(carol, "alice unmuted bob in #mod")
	refusedWith(t, alice, "/unmute bob", "bob is not muted in #mod")
	sayOK(t, bob, "bob unmuted")

	// An operator made by alice kicks; unmade, cannot.
	sayOK(t, alice, "/op bob")
	announced(carol, "alice made bob an operator of #mod")
	sayOK(t, bob, "/kick carol spamming")
	announced(alice, "bob kicked carol from #mod: spamming")
	carol.WaitMessage("carol's kick", func(m core.Message) bool {
		return m.Kind == core.KindError && m.Text == "bob kicked you from #mod: spamming"
	})
	refusedWith(t, carol, "/join #lobby-typo?", "only letters")
	id := carol.SayIn("#mod", "after the kick")
	if delivered, refused, failed := carol.WaitVerdict(id); !strings.Contains(refused, "you are not in #mod") {
		t.Errorf("carol's line to #mod after the kick: delivered %v, refused %q, failed %v", delivered, refused, failed)
	}
	sayOK(t, alice, "/deop bob")
	refusedWith(t, bob, "/kick alice", "you are not an operator of #mod")
	refusedWith(t, alice, "/kick carol", "no carol in #mod")

	// The lobby is the server operators' only.
	sayOK(t, alice, "/join #lobby")
	refusedWith(t, alice, "/kick bob", "you are not an operator of #lobby")
}

// TestIgnoreAndAway: /ignore stops a sender's room and private messages to
// the one ignoring (the sender is told of a private one); /away is told to
// whoever writes.
func TestIgnoreAndAway(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: noRateLimit})
	alice, bob := room.JoinWith(nick("alice")), room.JoinWith(nick("bob"))
	sayOK(t, bob, "/ignore Alice")
	refusedWith(t, bob, "/ignore alice", "you ignore alice already")
	sayOK(t, alice, "ignored line")
	refusedWith(t, alice, "/msg bob psst", "bob is not taking your messages")
	sayOK(t, bob, "/ignore")
	systemWith(bob, "you ignore: alice")
	sayOK(t, bob, "/unignore alice")
	refusedWith(t, bob, "/unignore alice", "you do not ignore alice")
	sayOK(t, alice, "heard line")
	bob.WaitMessage("the line after /unignore", func(m core.Message) bool { return m.Text == "heard line" })
	for _, m := range bob.Messages() {
		if m.Text == "ignored line" || m.Text == "psst" {
			t.Errorf("bob was sent %q while he ignored alice", m.Text)
		}
	}

	sayOK(t, bob, "/away at lunch")
	sayOK(t, alice, "/msg bob are you there?")
	systemWith(alice, "bob is away: at lunch")
	refusedWith(t, bob, "/away "+strings.Repeat("z", 121), "at most 120 bytes")
	sayOK(t, bob, "/away")
	systemWith(bob, "you are back")
}
