package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

func nick(name string) func(*client.Config) {
	return func(cfg *client.Config) { cfg.Nick = name }
}

func isSystem(text string) func(core.Message) bool {
	return func(m core.Message) bool { return m.Kind == core.KindSystem && m.Text == text }
}

// TestMixedRoom: a seed client (the seed's exact bytes) and two version 2
// clients in one room see each other's messages: the seed client as
// "<name> text", the others as structured messages; joins, nick changes and
// leaves are announced to all.
func TestMixedRoom(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	alice := room.JoinWith(nick("alice"))
	bob := room.JoinWith(nick("bob"))
	seedc := joinRaw(t, room, 0)
	seedName := seedc.Addr().String()
	// A seed client joins the room with its first DATA, which proves its
	// address: before it, it may be a spoofed one.
	seedc.SendData(0, "hello from the seed")
	seedc.ExpectAck(0)
	for _, c := range []*chattest.Client{alice, bob} {
		c.WaitMessage("the seed client's join", isSystem(seedName+" joined"))
	}
	for _, c := range []*chattest.Client{alice, bob} {
		m := c.WaitMessage("the seed client's message", func(m core.Message) bool { return m.Kind == core.KindChat })
		if m.From != seedName || m.Text != "hello from the seed" || m.ID == 0 || m.Time.IsZero() {
			t.Fatalf("%s got %+v", c.Name(), m)
		}
	}

	alice.WaitDelivered(alice.Say("hi all"))
	if got := seedc.ReadChat(); got != "<alice> hi all" {
		t.Fatalf("seed client got %q", got)
	}
	if m := bob.WaitChat(2)[1]; m.From != "alice" || m.Text != "hi all" || m.Kind != core.KindChat {
		t.Fatalf("bob got %+v", m)
	}

	seedc.SendData(1, "/nick seedy")
	seedc.ExpectAck(1)
	alice.WaitMessage("the rename", isSystem(seedName+" is now known as seedy"))
	seedc.SendData(2, "renamed")
	seedc.ExpectAck(2)
	if m := alice.WaitChat(2)[1]; m.From != "seedy" || m.Text != "renamed" {
		t.Fatalf("alice got %+v", m)
	}

	bob.Stop() // says BYE
	alice.WaitMessage("bob's leaving", isSystem("bob left"))
	seedc.ReadNotice("bob left")
}

// TestV2HeaderBound: a version 2 payload replayed under another seq, another
// type or another session is refused; an authentic fresh packet from a new
// address moves the session there once the new address has echoed the
// server's challenge, a forged one moves nothing.
func TestV2HeaderBound(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	listener := room.JoinWith(nick("listener"))
	r := room.Raw()
	r.HandshakeV2(chattest.Keys.Key(0), "roamer")
	other := room.Raw()
	other.HandshakeV2(chattest.Keys.Key(1), "other")

	sent := r.SendV2Data(0, "once")
	r.ExpectAckV2(0)
	dropped := room.Server.Stats().Dropped
	for _, replay := range []core.Packet{
		{Type: core.TypeData, Session: r.Session, Seq: 1, HasSeq: true, Payload: sent.Payload},          // another seq
		{Type: core.TypePing, Session: r.Session, Seq: 0, HasSeq: true, Payload: sent.Payload},          // another type
		{Type: core.TypeData, Session: other.Session, Seq: 0, HasSeq: true, Payload: sent.Payload},      // another session
		{Type: core.TypeData, Session: r.Session, Seq: 1, HasSeq: true, Payload: flip(sent.Payload, 5)}, // forged
	} {
		r.SendPacket(&replay)
	}
	r.SendV2Data(1, "twice")
	r.ExpectAckV2(1) // the first answer is to this: no replay got an ACK
	if d := room.Server.Stats().Dropped - dropped; d != 4 {
		t.Fatalf("%d datagrams dropped, want the 4 replays", d)
	}
	if got := texts(listener.WaitChat(2)); !slices.Equal(got, []string{"once", "twice"}) {
		t.Fatalf("listener got %q", got)
	}

	// A forged packet from a new address moves nothing: the session's next
	// ACK still goes to r.
	forger := r.Clone(room)
	forged := r.SealPacket(&core.Packet{Type: core.TypeData, Seq: 2, HasSeq: true}, []byte(`{"kind": "chat", "text": "x"}`))
	forged.Payload = flip(forged.Payload, 40)
	forger.SendPacket(forged)
	r.SendV2Data(2, "still here")
	r.ExpectAckV2(2)

	// An authentic fresh one does not move it either (it may come from a
	// forged address): the server answers at the old address and challenges
	// the new one. The echo of the challenge, from there, moves it: the ACK,
	// and what the room says next, go to the new address.
	roamed := r.Clone(room)
	roamed.SendPacket(roamed.SealPacket(&core.Packet{Type: core.TypePing, Seq: 1, HasSeq: true}, []byte("12345678")))
	r.ReadV2(core.TypePong)
	roamed.AnswerChallenge()
	roamed.SendV2Data(3, "moved")
	roamed.ExpectAckV2(3)
	listener.WaitDelivered(listener.Say("to the roamer"))
	for {
		_, plain := roamed.ReadV2(core.TypeData)
		if strings.Contains(string(plain), "to the roamer") {
			break
		}
	}
}

func flip(b []byte, i int) []byte {
	c := slices.Clone(b)
	c[i%len(c)] ^= 0x40
	return c
}

func texts(ms []core.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

// TestCommands: /msg reaches only its target; /nick refuses collisions and
// invalid names; /who lists everyone; unknown commands are refused; all
// errors go to the sender only.
func TestCommands(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	alice, bob, carol := room.JoinWith(nick("alice")), room.JoinWith(nick("bob")), room.JoinWith(nick("carol"))

	alice.WaitDelivered(alice.Say("/msg bob the secret"), alice.Say("after the secret"))
	if m := bob.WaitChat(2)[0]; m.Kind != core.KindPrivate || m.From != "alice" || m.To != "bob" || m.Text != "the secret" {
		t.Fatalf("bob got %+v", m)
	}
	if got := carol.WaitChat(1); len(got) != 1 || got[0].Text != "after the secret" {
		t.Fatalf("carol got %+v: the private message leaked", got)
	}

	errorsFor := func(c *chattest.Client, text, want string) {
		t.Helper()
		c.WaitDelivered(c.Say(text))
		c.WaitMessage(want, func(m core.Message) bool { return m.Kind == core.KindError && strings.Contains(m.Text, want) })
	}
	errorsFor(bob, "/nick alice", `"alice" is taken`)
	errorsFor(bob, "/nick ALICE", `"ALICE" is taken`)
	errorsFor(bob, "/nick server", "reserved")
	errorsFor(bob, "/nick 9lives", "starts with a letter")
	errorsFor(bob, "/nick bob smith", "only letters")
	errorsFor(bob, "/nick averyveryverylongname", "at most 16")
	errorsFor(bob, "/msg nobody hello", "no such user: nobody")
	errorsFor(bob, "/dance", "unknown command /dance")

	bob.WaitDelivered(bob.Say("/nick robert"))
	alice.WaitMessage("the rename", isSystem("bob is now known as robert"))
	bob.WaitDelivered(bob.Say("/who"))
	who := bob.WaitMessage("/who", func(m core.Message) bool { return strings.HasPrefix(m.Text, "3 here:") })
	for _, name := range []string{"alice (idle", "carol (idle", "robert (idle"} {
		if !strings.Contains(who.Text, name) {
			t.Errorf("/who says %q, without %q", who.Text, name)
		}
	}
	// None of bob's errors reached the others.
	for _, m := range append(alice.Messages(), carol.Messages()...) {
		if m.Kind == core.KindError {
			t.Fatalf("an error reached someone else: %+v", m)
		}
	}
	carol.WaitDelivered(carol.Say("/me waves"))
	if m := alice.WaitMessage("the action", func(m core.Message) bool { return m.Kind == core.KindAction }); m.From != "carol" || m.Text != "waves" {
		t.Fatalf("alice got %+v", m)
	}
}

// TestFlood: with no wait allowed (max_lag 0s), a client sending far
// faster than the limit is throttled, each refused message noticed, and the
// others keep chatting. TestWindowFloodBounded floods the default, which
// delays messages before it refuses any.
func TestFlood(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) { cfg.RateLimit = server.RateLimit{Rate: 2, Burst: 20, MaxLag: 0} }})
	flooder, alice, bob := room.JoinWith(nick("flooder")), room.JoinWith(nick("alice")), room.JoinWith(nick("bob"))
	const n = 80
	var ids []uint64
	for i := range n {
		ids = append(ids, flooder.Say(fmt.Sprintf("spam %d", i)))
	}
	alice.WaitDelivered(alice.Say("can anyone hear me?"))
	flooder.WaitDelivered(ids...)
	bob.WaitMessage("alice, through the flood", func(m core.Message) bool { return m.From == "alice" })

	// Refusal notices queue behind the flooder's ACKs, and relays behind
	// alice's message: count once all have arrived.
	var relayed, refused int
	count := func() bool {
		relayed, refused = 0, 0
		for _, m := range flooder.Messages() {
			if m.Kind == core.KindError && strings.HasPrefix(m.Text, "slow down") {
				refused++
			}
		}
		for _, m := range bob.Chat() {
			if m.From == "flooder" {
				relayed++
			}
		}
		return relayed+refused == n
	}
	testkit.WaitUntil(t, "every flood message relayed or refused", count)
	if relayed > 40 || refused < n-40 {
		t.Fatalf("of %d messages %d were relayed and %d refused: want at most 40 relayed (a burst of 20 and 2 a second), the rest refused", n, relayed, refused)
	}
}

// TestHistory: a newcomer is shown the last N messages, in order, marked as
// history; a seed client sees them as "<name> [history HH:MM] text".
func TestHistory(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		cfg.History = 5
		noRateLimit(cfg)
	}})
	alice := room.JoinWith(nick("alice"))
	var ids []uint64
	for i := range 8 {
		ids = append(ids, alice.Say(fmt.Sprintf("message %d", i)))
	}
	alice.WaitDelivered(ids...)

	late := room.JoinWith(nick("late"))
	var got []string
	for _, m := range late.WaitMessages(5) {
		if m.Kind != core.KindHistory || m.From != "alice" || m.Time.IsZero() {
			t.Fatalf("late got %+v, want history from alice", m)
		}
		got = append(got, m.Text)
	}
	if want := []string{"message 3", "message 4", "message 5", "message 6", "message 7"}; !slices.Equal(got, want) {
		t.Fatalf("history %q, want %q", got, want)
	}

	seedc := joinRaw(t, room, 2)
	seedc.SendData(0, "hello") // its first DATA proves its address: the history follows
	for i := 3; i < 8; i++ {
		text := seedc.ReadChat()
		if !strings.HasPrefix(text, "<alice> [history ") || !strings.HasSuffix(text, fmt.Sprintf("] message %d", i)) {
			t.Fatalf("seed client got %q", text)
		}
	}
	seedc.ExpectAck(0)
}

// TestPresence: a client that says BYE is gone at once; one that vanishes
// is gone after the idle timeout; either way everyone is told, and /who
// lists no ghost.
//
// It runs on synctest's clock, over the in-memory network: the keepalives
// that keep alice in always come before the idle timeout, however loaded
// the machine, and the ghost's timeout passes at once.
func TestPresence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Server: func(cfg *server.Config) { cfg.IdleTimeout = 500 * time.Millisecond }})
		alice := room.JoinWith(func(cfg *client.Config) { cfg.Nick, cfg.Keepalive = "alice", 100*time.Millisecond })
		bob := room.JoinWith(func(cfg *client.Config) { cfg.Nick, cfg.Keepalive = "bob", 100*time.Millisecond })
		ghost := room.Raw()
		ghost.HandshakeV2(chattest.Keys.Key(0), "ghost")
		ghost.SendPacket(ghost.SealPacket(&core.Packet{Type: core.TypePing, Seq: 1, HasSeq: true}, []byte("12345678")))
		alice.WaitMessage("the ghost's join", isSystem("ghost joined"))
		alice.WaitRTT()

		bob.Stop()
		alice.WaitMessage("bob's BYE", isSystem("bob left"))
		// The raw client sends no keepalives: it is the one that vanished.
		alice.WaitMessage("the ghost's timeout", isSystem("ghost timed out"))
		alice.WaitDelivered(alice.Say("/who"))
		who := alice.WaitMessage("/who", func(m core.Message) bool { return strings.HasPrefix(m.Text, "1 here:") })
		if !strings.Contains(who.Text, "alice") {
			t.Fatalf("/who says %q", who.Text)
		}
		if n := room.Server.Stats().Sessions; n != 1 {
			t.Fatalf("%d sessions, want 1", n)
		}
	})
}

// TestControlCharactersRefused: a message that would drive its readers'
// terminals (an escape sequence) is refused, with the reason, to its sender.
func TestControlCharactersRefused(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	a, b := room.Join(), room.Join()
	a.WaitDelivered(a.Say("\x1b[2Jgotcha"), a.Say("tab\tis fine"))
	a.WaitMessage("the refusal", func(m core.Message) bool {
		return m.Kind == core.KindError && m.Text == "message contains control characters"
	})
	if got := b.WaitChat(1); len(got) != 1 || got[0].Text != "tab\tis fine" {
		t.Fatalf("b got %+v", got)
	}
}

// TestReservedNames: no one may take a name a handler posts under, neither
// in the handshake nor with /nick.
func TestReservedNames(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) { cfg.Reserved = []string{"bot"} }})
	c := room.JoinWith(nick("Bot"))
	if c.Name() == "Bot" {
		t.Fatal("a client took the reserved name Bot")
	}
	c.WaitMessage("why not", func(m core.Message) bool {
		return m.Kind == core.KindError && strings.Contains(m.Text, `"Bot" is reserved`)
	})
	c.WaitDelivered(c.Say("/nick bot"))
	c.WaitMessage("the refusal", func(m core.Message) bool { return m.Kind == core.KindError && m.Text == `"bot" is reserved` })
}

// TestSlowHandlerStallsNothingElse: while a handler holds a message (a
// plugin hanging until its timeout), the server still answers handshakes
// and keepalives; the held message is acknowledged once it is handed on.
func TestSlowHandlerStallsNothingElse(t *testing.T) {
	release := make(chan struct{})
	hold := func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
			if m.Text == "hold me" {
				<-release
			}
			return next.HandleMessage(ctx, m)
		})
	}
	room := chattest.Start(t, chattest.Options{
		Server: func(cfg *server.Config) { cfg.Handlers = []core.Middleware{hold} },
		// a waits for its ACK as long as the test may take.
		Reliability: core.ReliabilityConfig{RTO: 200 * time.Millisecond, MaxRetries: 100},
	})
	a := room.JoinWith(nick("a"))
	id := a.Say("hold me")
	// While the handler holds a's message: a handshake, and keepalives.
	b := room.JoinWith(func(cfg *client.Config) { cfg.Nick, cfg.Keepalive = "b", 20*time.Millisecond })
	b.WaitRTT()
	close(release)
	a.WaitDelivered(id)
	if m := b.WaitChat(1)[0]; m.Text != "hold me" {
		t.Fatalf("b got %+v", m)
	}
}
