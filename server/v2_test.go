package server_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/server"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/modern"
	"github.com/udpchat/udpchat/cipher/seed"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/reliability/stopwait"
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
	for _, c := range []*chattest.Client{alice, bob} {
		c.WaitMessage("the seed client's join", isSystem(seedName+" joined"))
	}

	seedc.SendData(0, "hello from the seed")
	seedc.ExpectAck(0)
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

// TestFallbackToV1: against a server that speaks only version 1, a version
// 2 client falls back and chats, and says so; one that requires version 2,
// or has the server's key pinned, refuses.
func TestFallbackToV1(t *testing.T) {
	room := chattest.Start(t, chattest.Options{
		Suite:  seed.Suite{}, // the only one a version 1 server speaks
		Server: func(cfg *server.Config) { cfg.Identity = nil },
	})
	a, b := room.Join(), room.Join()
	if a.Info().Version != 1 {
		t.Fatalf("connected in version %d, want 1", a.Info().Version)
	}
	if n := a.WaitNotice("only protocol version 1"); !strings.Contains(n, "not authenticated") {
		t.Fatalf("the warning does not say what is lost: %q", n)
	}
	a.WaitDelivered(a.Say("plain old chat"))
	if m := b.WaitChat(1)[0]; m.Text != "plain old chat" || m.From != a.Addr.String() {
		t.Fatalf("got %+v", m)
	}

	strict := room.Dial(func(cfg *client.Config) { cfg.RequireV2 = true })
	if err := strict.RunErr(); !errors.Is(err, client.ErrV1Server) {
		t.Fatalf("a client requiring version 2 ended with %v, want ErrV1Server", err)
	}
	pinned := room.Dial(func(cfg *client.Config) { cfg.Servers = pinAll{} })
	if err := pinned.RunErr(); !errors.Is(err, client.ErrDowngrade) {
		t.Fatalf("a client with the key pinned ended with %v, want ErrDowngrade", err)
	}
	// A seed server cannot parse a modern hello, so it never answers: the
	// client says why when it gives up.
	fs := room.Dial(func(cfg *client.Config) {
		cfg.Suite, cfg.NewInitiator = modern.Suite{}, nil
		cfg.HandshakeRTO, cfg.HandshakeRetries = 50*time.Millisecond, 1
	})
	err := fs.RunErr()
	if !errors.Is(err, client.ErrNoAnswer) || !strings.Contains(err.Error(), modern.Name+" needs protocol version 2") {
		t.Fatalf("a modern-suite client ended with %v, want ErrNoAnswer naming the suite", err)
	}
}

// pinAll says every server is pinned and accepts any key.
type pinAll struct{}

func (pinAll) Verify(netip.AddrPort, ed25519.PublicKey) error { return nil }
func (pinAll) Pinned(netip.AddrPort) bool                     { return true }

// TestPinning: the first connection pins the server's key; a server on the
// same address with another key is refused, naming both fingerprints; the
// accept-new-key option takes the new key.
func TestPinning(t *testing.T) {
	file := identity.KnownServers{Path: filepath.Join(t.TempDir(), "known_servers")}
	first := chattest.Start(t, chattest.Options{})
	addr := first.Addr
	var told []string
	pins := &identity.Pins{File: file, Notify: func(s string) { told = append(told, s) }}
	c := first.JoinWith(func(cfg *client.Config) { cfg.Servers = pins })
	oldKey := first.Identity.Public().(ed25519.PublicKey)
	if got, found, err := file.Lookup(addr.String()); err != nil || !found || !got.Equal(oldKey) {
		t.Fatalf("after the first connection the file pins %v (found %v, %v)", got, found, err)
	}
	if len(told) != 1 || !strings.Contains(told[0], identity.Fingerprint(oldKey)) {
		t.Fatalf("the user was told %q", told)
	}
	c.Stop()
	first.Close()

	second := chattest.Start(t, chattest.Options{Addr: addr})
	newKey := second.Identity.Public().(ed25519.PublicKey)
	refused := second.Dial(func(cfg *client.Config) { cfg.Servers = pins })
	err := refused.RunErr()
	var mismatch *identity.KeyMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("connecting to a server with a new key: %v, want a key mismatch", err)
	}
	for _, want := range []string{identity.Fingerprint(oldKey), identity.Fingerprint(newKey), "--accept-new-key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not name %q", err, want)
		}
	}

	accepting := &identity.Pins{File: file, AcceptNew: true}
	second.JoinWith(func(cfg *client.Config) { cfg.Servers = accepting })
	if got, _, _ := file.Lookup(addr.String()); !got.Equal(newKey) {
		t.Fatal("accept-new-key did not pin the new key")
	}
	if _, err := os.Stat(file.Path); err != nil {
		t.Fatal(err)
	}
}

// TestV2HeaderBound: a version 2 payload replayed under another seq, another
// type or another session is refused; an authentic fresh packet from a new
// address moves the session there, a forged one moves nothing.
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

	// An authentic fresh one moves it: the ACK, and what the room says next,
	// go to the new address.
	roamed := r.Clone(room)
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

// TestFlood: a client sending far faster than the limit is throttled, told
// so, and the others keep chatting.
func TestFlood(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) { cfg.RateLimit = server.RateLimit{Rate: 2, Burst: 20} }})
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
	for i := 3; i < 8; i++ {
		text := seedc.ReadChat()
		if !strings.HasPrefix(text, "<alice> [history ") || !strings.HasSuffix(text, fmt.Sprintf("] message %d", i)) {
			t.Fatalf("seed client got %q", text)
		}
	}
}

// TestPresence: a client that says BYE is gone at once; one that vanishes
// is gone after the idle timeout; either way everyone is told, and /who
// lists no ghost.
func TestPresence(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) { cfg.IdleTimeout = 500 * time.Millisecond }})
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

// TestReconnect: when the server restarts, a client set to reconnect says
// so, starts a new session by itself, and sends what was typed meanwhile;
// nothing is lost silently.
func TestReconnect(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Reliability: core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 3}})
	reconnecting := func(name string) func(*client.Config) {
		return func(cfg *client.Config) {
			cfg.Nick, cfg.Reconnect, cfg.Keepalive = name, true, 100*time.Millisecond
		}
	}
	alice, bob := room.JoinWith(reconnecting("alice")), room.JoinWith(reconnecting("bob"))
	alice.WaitDelivered(alice.Say("before"))
	bob.WaitChat(1)

	// A restart the clients learn of when they next speak: the new server
	// tells them it does not know their session.
	room.RestartServer()
	alice.WaitDelivered(alice.Say("after the restart"))
	alice.WaitState(client.StateReconnecting)
	bob.WaitMessage("alice's message after the restart", func(m core.Message) bool { return m.Text == "after the restart" })

	// A server down for a while: what is typed meanwhile waits and goes.
	room.StopServer()
	id := alice.Say("typed while the server was down")
	alice.WaitStates(client.StateReconnecting, 2)
	room.RestartServer()
	alice.WaitDelivered(id)
	bob.WaitMessage("the message typed while down", func(m core.Message) bool { return m.Text == "typed while the server was down" })
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

// TestSuiteNeedsV2Refused: a client set to speak only version 1 with a suite
// that needs version 2 is refused at once, saying why.
func TestSuiteNeedsV2Refused(t *testing.T) {
	_, err := client.New(client.Config{
		Transport: &capturingTransport{}, Server: chattest.Loopback, Codec: jsoncodec.Codec{},
		Suite: modern.Suite{}, Reliability: stopwait.Layer{}, MaxVersion: 1,
	})
	if err == nil || !strings.Contains(err.Error(), modern.Name+" needs protocol version 2") {
		t.Fatalf("NewClient = %v, want a refusal naming the suite", err)
	}
}
