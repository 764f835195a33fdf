package server_test

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/cmd/servercmd"
	"github.com/udpchat/udpchat/config"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/server"
)

// TestRestartKeepsRoom (issue 16, must-show 1): with udpchat-server's
// default broker, a NATS server embedded in it storing under the data
// directory, a server restarted on the same directory keeps the room. A
// client that joins afterwards is shown the last messages, from before the
// restart too; a client that was connected before it, away while the room
// went on, resumes its session (the resume key is the broker's, so it
// survives the restart) under its nickname, and is shown what was said
// while it was away, from where it was: nothing missed, nothing twice,
// nothing as history, and no "missed messages" notice, since the log kept
// its epoch.
func TestRestartKeepsRoom(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	if cfg.Broker.Mode != config.BrokerEmbedded {
		t.Fatalf("the default broker mode is %q; this test is about embedded", cfg.Broker.Mode)
	}
	logger := slog.New(slog.NewTextHandler(&testkit.Buffer{}, nil))
	// The server's rooms as udpchat-server opens them: each start of the
	// server opens them again on dir, after the last one's are closed.
	var rooms *servercmd.Rooms
	t.Cleanup(func() { rooms.Close() }) // after the room's own cleanup
	var epochs []uint64
	room := chattest.Start(t, chattest.Options{
		Reliability: core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 3},
		Server: func(sc *server.Config) {
			if rooms != nil {
				rooms.Close()
			}
			var err error
			if rooms, err = servercmd.OpenRooms(t.Context(), cfg, dir, logger); err != nil {
				t.Fatal(err)
			}
			b, err := rooms.Log.Bounds(t.Context(), "lobby")
			if err != nil {
				t.Fatal(err)
			}
			epochs = append(epochs, b.Epoch)
			sc.RoomLog, sc.ResumeKey = rooms.Log, rooms.ResumeKey
		},
	})
	reconnecting := func(name string) func(*client.Config) {
		return func(c *client.Config) { c.Nick, c.Reconnect, c.Keepalive = name, true, 100*time.Millisecond }
	}
	alice := room.JoinWith(reconnecting("alice"))
	var net *outage
	bob := room.JoinWith(func(c *client.Config) {
		reconnecting("bob")(c)
		net = &outage{Transport: c.Transport}
		c.Transport = net
	})
	before := []string{"one", "two", "three"}
	for _, text := range before {
		alice.WaitDelivered(alice.Say(text))
	}
	bob.WaitChat(len(before))

	// Bob is away (his network down) across the restart, and while alice
	// goes on talking in the restarted server's room.
	net.down.Store(true)
	room.RestartServer()
	away := []string{"said while bob was away", "and this too"}
	for _, text := range away {
		alice.WaitDelivered(alice.Say(text))
	}
	if n := alice.Notices(); len(n) != 0 {
		t.Errorf("alice was told %q: the restart lost nothing", n)
	}
	if len(epochs) != 2 || epochs[0] != epochs[1] {
		t.Fatalf("the room log's epochs at each start: %v, want one epoch kept", epochs)
	}

	// A newcomer is shown the room's history, from before the restart too.
	carol := room.JoinWith(nick("carol"))
	all := append(slices.Clone(before), away...)
	history := carol.WaitUntil("carol's history", func(ms []core.Message) bool { return len(historyOf(ms)) >= len(all) })
	if got := texts(historyOf(history)); !slices.Equal(got, all) {
		t.Errorf("carol was shown the history %q, want %q", got, all)
	}

	// Bob comes back: his client resumes its session, and is shown what
	// he missed, then what is said next, once each and in order.
	net.down.Store(false)
	alice.WaitDelivered(alice.Say("welcome back"))
	bob.WaitMessage("welcome back", func(m core.Message) bool { return m.Text == "welcome back" })
	want := append(slices.Clone(all), "welcome back")
	if got := texts(bob.Chat()); !slices.Equal(got, want) {
		t.Errorf("bob was shown %q, want %q: nothing missed, nothing twice", got, want)
	}
	for _, m := range bob.Messages() {
		if m.Kind == core.KindHistory {
			t.Errorf("bob was shown %q as history: he was not resumed but joined anew", m.Text)
		}
	}
	if n := bob.Notices(); len(n) != 0 {
		t.Errorf("bob was told %q", n)
	}
	if got := bob.Info().Nick; got != "bob" {
		t.Errorf("bob came back as %q", got)
	}
}

// historyOf is the messages of ms shown as history.
func historyOf(ms []core.Message) []core.Message {
	var out []core.Message
	for _, m := range ms {
		if m.Kind == core.KindHistory {
			out = append(out, m)
		}
	}
	return out
}
