package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
)

// sayOK says text and waits for its ACK, failing the test if it is refused.
func sayOK(t *testing.T, c *chattest.Client, text string) {
	t.Helper()
	id := c.Say(text)
	if delivered, refused, failed := c.WaitVerdict(id); !delivered {
		t.Fatalf("%s: %q not delivered: refused %q, failed %v", c.Name(), text, refused, failed)
	}
}

// systemWith waits for a notice of the server's to c that contains text.
func systemWith(c *chattest.Client, text string) string {
	return c.WaitMessage("notice "+text, func(m core.Message) bool {
		return (m.Kind == core.KindSystem || m.Kind == core.KindError) && strings.Contains(m.Text, text)
	}).Text
}

// roomText is how a test names a message: its channel and its v1 text.
func roomTexts(ms []core.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.V1Text())
	}
	return out
}

// TestChannels: three version 2 clients and two seed clients, over real
// UDP. What is said in a channel, its history and its topic reach its
// members only, each stamped with the channel; the lobby's reach everyone,
// a seed client in the lobby sees only the lobby, and one that joined a
// channel with the command as text sees that channel's lines marked.
// /list and /who say who is where.
func TestChannels(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(c *server.Config) {
		c.History = 10
		c.MOTD = "welcome to the test server"
		noRateLimit(c)
	}})
	alice, bob, carol := room.Join(), room.Join(), room.Join()
	v1 := func(cfg *client.Config) { cfg.MaxVersion, cfg.Suite = 1, seed.Suite{} } // version 1 has no other suite
	dave, eve := room.JoinWith(v1), room.JoinWith(v1)
	for _, c := range []*chattest.Client{alice, carol} {
		systemWith(c, "welcome to the test server")
	}

	sayOK(t, alice, "/join #Go") // folded to #go
	systemWith(alice, "you joined #go")
	sayOK(t, alice, "before bob")
	sayOK(t, alice, "/topic all things Go")
	sayOK(t, bob, "/join #go")
	if got := systemWith(bob, "you joined #go"); !strings.Contains(got, "topic: all things Go") || !strings.Contains(got, alice.Name()) {
		t.Errorf("bob's join notice = %q, want the topic and alice in it", got)
	}
	sayOK(t, eve, "/join #go")
	sayOK(t, bob, "in go")
	sayOK(t, carol, "in the lobby")
	sayOK(t, dave, "seed in the lobby")
	systemWith(dave, "welcome to the test server") // a seed client is sent nothing before its first line
	sayOK(t, eve, "seed in go")
	sayOK(t, alice, "/join #lobby")
	sayOK(t, alice, "alice in the lobby")

	// bob: go's history, go and the lobby live.
	bobGot := bob.WaitUntil("bob's chat", func(ms []core.Message) bool {
		return slices.ContainsFunc(ms, func(m core.Message) bool { return m.Text == "alice in the lobby" })
	})
	history := bob.WaitMessage("history", func(m core.Message) bool { return m.Kind == core.KindHistory && m.Text == "before bob" })
	if history.Room != "#go" {
		t.Errorf("bob's history %q is in %q, want #go", history.Text, history.Room)
	}
	wantRoom := map[string]string{"in the lobby": "", "seed in the lobby": "", "alice in the lobby": ""}
	for _, m := range bobGot {
		if want, ok := wantRoom[m.Text]; ok && m.Room != want {
			t.Errorf("bob got %q in %q, want %q", m.Text, m.Room, want)
		}
	}
	aliceGot := alice.WaitMessage("bob's line in go", func(m core.Message) bool { return m.Text == "in go" })
	if aliceGot.Room != "#go" || aliceGot.From != bob.Name() {
		t.Errorf("alice got %+v, want bob's line in #go", aliceGot)
	}
	// The seed client in the channel: its lines say which.
	eveGot := eve.WaitMessage("go for eve", func(m core.Message) bool { return strings.Contains(m.Text, "in go") })
	if want := "[#go] <" + bob.Name() + "> in go"; eveGot.Text != want {
		t.Errorf("eve got %q, want %q", eveGot.Text, want)
	}

	// carol and dave, in the lobby only, never hear of #go.
	lastLobby := func(m core.Message) bool {
		return m.Text == "alice in the lobby" || strings.HasSuffix(m.Text, "> alice in the lobby")
	}
	carol.WaitMessage("alice's lobby line", lastLobby)
	dave.WaitMessage("alice's lobby line", lastLobby)
	for _, c := range []*chattest.Client{carol, dave} {
		for _, line := range roomTexts(c.Messages()) {
			if strings.Contains(line, "go") && !strings.Contains(line, "/join") || strings.Contains(line, "before bob") {
				t.Errorf("%s, in the lobby, got %q", c.Name(), line)
			}
		}
	}

	// /list and /who.
	sayOK(t, carol, "/list")
	list := systemWith(carol, "channels:")
	if !strings.Contains(list, `#go (3) "all things Go"`) || !strings.Contains(list, "#lobby (5)") {
		t.Errorf("/list = %q, want #go with 3 and its topic, #lobby with 5", list)
	}
	sayOK(t, bob, "/who")
	who := bob.WaitMessage("/who", func(m core.Message) bool { return strings.HasPrefix(m.Text, "3 in #go:") }).Text
	if !strings.Contains(who, alice.Name()) || strings.Contains(who, carol.Name()) {
		t.Errorf("bob's /who = %q, want the 3 in #go and not carol", who)
	}
	sayOK(t, carol, "/who")
	if who := systemWith(carol, " here:"); !strings.HasPrefix(who, "5 here:") {
		t.Errorf("carol's /who = %q, want all 5", who)
	}

	// bob leaves: alice hears it in #go, and #go's count falls.
	sayOK(t, bob, "/part")
	alice.WaitMessage("bob left", func(m core.Message) bool { return m.Room == "#go" && strings.Contains(m.Text, bob.Name()+" left #go") })
	sayOK(t, bob, "back in the lobby")
	carol.WaitMessage("bob's lobby line", func(m core.Message) bool { return m.Text == "back in the lobby" && m.Room == "" })
	sayOK(t, carol, "/list")
	carol.WaitMessage("the new list", func(m core.Message) bool { return strings.Contains(m.Text, `#go (2) "all things Go"`) })
}

// TestChannelCommandsHostile: each bad use of a channel command is refused
// with a notice that says why, and changes nothing: the channels and who is
// in them stay as they were.
func TestChannelCommandsHostile(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(c *server.Config) {
		c.MaxChannels = 3 // the lobby and two more
		noRateLimit(c)
	}})
	alice := room.Join()
	sayOK(t, alice, "/join #kept")
	for _, tc := range []struct{ line, want string }{
		{"/join", "usage: /join #CHANNEL"},
		{"/join #", "cannot be empty"},
		{"/join #a b", "usage: /join #CHANNEL"},
		{"/join #" + strings.Repeat("x", core.MaxRoom+1), "at most 24 characters"},
		{"/join #bad\u0007bell", "control characters"},
		{"/join #ünï", "only letters, digits"},
		{"/join #-dash", "only letters, digits"},
		{"/join #a.b", "only letters, digits"},
		{"/part #nowhere", "you are not in #nowhere"},
		{"/part #lobby", "everyone stays in #lobby"},
		{"/topic " + strings.Repeat("t", 201), "at most 200 bytes"},
		{"/topic bell\u0007", "control characters"},
		{"/topic two\nlines", "control characters"},
		{"/topic \u202eright to left", "bidirectional"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			id := alice.Say(tc.line)
			if delivered, refused, _ := alice.WaitVerdict(id); delivered || !strings.Contains(refused, tc.want) {
				t.Errorf("%q: delivered %v, refused %q; want refused with %q", tc.line, delivered, refused, tc.want)
			}
		})
	}
	// The server's cap: one more channel opens, the next does not.
	sayOK(t, alice, "/join #second")
	id := alice.Say("/join #third")
	if _, refused, _ := alice.WaitVerdict(id); !strings.Contains(refused, "3 channels open") {
		t.Errorf("a channel past the cap: refused %q", refused)
	}
	sayOK(t, alice, "/list")
	list := systemWith(alice, "channels:")
	if want := `3 channels: #lobby (1); #kept (1); #second (1)`; list != want {
		t.Errorf("/list = %q, want %q", list, want)
	}
	sayOK(t, alice, "/topic")
	systemWith(alice, "#second has no topic")
}

// TestChannelLimitPerSession: a session is in at most 16 channels beside
// the lobby; the 17th is refused, and parting one makes room.
func TestChannelLimitPerSession(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: noRateLimit})
	alice := room.Join()
	for i := range 16 {
		sayOK(t, alice, fmt.Sprintf("/join #c%d", i))
	}
	id := alice.Say("/join #one-too-many")
	if _, refused, _ := alice.WaitVerdict(id); !strings.Contains(refused, "you are in 16 channels already") {
		t.Errorf("the 17th channel: refused %q", refused)
	}
	sayOK(t, alice, "/part #c3")
	sayOK(t, alice, "/join #one-too-many")
}

// TestClusterChannel: two servers share the room log. A channel opened on
// each is one channel: its members on either server hear each other, in
// the log's one order, and a newcomer on either is shown its history,
// lines from both servers; a member of the lobby only hears none of it.
func TestClusterChannel(t *testing.T) {
	rooms := cluster(t, 2, nil)
	alice := rooms[0].JoinWith(nick("alice"))
	bob := rooms[1].JoinWith(nick("bob"))
	carol := rooms[1].JoinWith(nick("carol"))
	sayOK(t, alice, "/join #go")
	sayOK(t, bob, "/join #go")
	for i := range 5 {
		sayOK(t, alice, fmt.Sprintf("a%d", i))
		sayOK(t, bob, fmt.Sprintf("b%d", i))
	}
	inGo := func(c *chattest.Client, n int) []string {
		ms := c.WaitUntil("lines of #go", func(ms []core.Message) bool {
			k := 0
			for _, m := range ms {
				if m.Room == "#go" && (m.Kind == core.KindChat || m.Kind == core.KindHistory) {
					k++
				}
			}
			return k >= n
		})
		var out []string
		for _, m := range ms {
			if m.Room == "#go" && (m.Kind == core.KindChat || m.Kind == core.KindHistory) {
				out = append(out, m.Text)
			}
		}
		return out
	}
	if got, want := inGo(alice, 5), []string{"b0", "b1", "b2", "b3", "b4"}; !slices.Equal(got, want) {
		t.Errorf("alice heard %q in #go, want %q", got, want)
	}
	if got, want := inGo(bob, 5), []string{"a0", "a1", "a2", "a3", "a4"}; !slices.Equal(got, want) {
		t.Errorf("bob heard %q in #go, want %q", got, want)
	}
	dave := rooms[0].JoinWith(nick("dave"))
	sayOK(t, dave, "/join #go")
	if got, want := inGo(dave, 10), []string{"a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4"}; !slices.Equal(got, want) {
		t.Errorf("dave was shown %q of #go's history, want %q", got, want)
	}
	sayOK(t, carol, "carol in the lobby")
	alice.WaitMessage("carol's lobby line", func(m core.Message) bool { return m.Text == "carol in the lobby" && m.Room == "" })
	for _, m := range carol.Messages() {
		if m.Room != "" || strings.Contains(m.Text, "#go") {
			t.Errorf("carol, in the lobby only, got %+v", m)
		}
	}
}

// TestLinesGoWhereTheySay: a line that names a channel goes there, the
// lobby included, whatever the sender's current channel; a command acts
// on the channel its line names; and the answer to /join names its
// channel, for a client that shows channels apart.
func TestLinesGoWhereTheySay(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: noRateLimit})
	alice, bob := room.JoinWith(nick("alice")), room.JoinWith(nick("bob"))
	sayOK(t, alice, "/join #go")
	joined := alice.WaitMessage("the join's answer", func(m core.Message) bool { return strings.HasPrefix(m.Text, "you joined #go") })
	if joined.Room != "#go" {
		t.Errorf("the answer to /join is in %q, want #go", joined.Room)
	}
	// alice's current channel is #go; she names the lobby.
	if delivered, refused, _ := alice.WaitVerdict(alice.SayIn(core.Lobby, "to the lobby")); !delivered {
		t.Fatalf("a line naming the lobby: refused %q", refused)
	}
	got := bob.WaitMessage("alice's lobby line", func(m core.Message) bool { return m.Text == "to the lobby" })
	if got.Room != "" {
		t.Errorf("a line for the lobby arrived in %q", got.Room)
	}
	// /who said in the lobby is the lobby's; said in #go, #go's.
	if delivered, _, _ := alice.WaitVerdict(alice.SayIn(core.Lobby, "/who")); !delivered {
		t.Fatal("/who in the lobby refused")
	}
	alice.WaitMessage("the lobby's /who", func(m core.Message) bool { return strings.HasPrefix(m.Text, "2 here:") })
	sayOK(t, alice, "/join #lobby")
	if delivered, _, _ := alice.WaitVerdict(alice.SayIn("#go", "/who")); !delivered {
		t.Fatal("/who in #go refused")
	}
	alice.WaitMessage("#go's /who", func(m core.Message) bool { return strings.HasPrefix(m.Text, "1 in #go:") })
	if delivered, _, _ := alice.WaitVerdict(alice.SayIn("#go", "/part")); !delivered {
		t.Fatal("/part in #go refused")
	}
	alice.WaitMessage("the part", func(m core.Message) bool { return strings.HasPrefix(m.Text, "you left #go") })
}
