package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyed is a client asking for name, proving key.
func keyed(name string, key ed25519.PrivateKey) func(*client.Config) {
	return func(c *client.Config) { c.Nick, c.Identity = name, key }
}

func short(k ed25519.PrivateKey) string {
	return identity.ShortFingerprint(k.Public().(ed25519.PublicKey))
}

// command says text and waits for its verdict: "" if it was accepted, the
// refusal otherwise.
func command(t *testing.T, c *chattest.Client, text string) string {
	t.Helper()
	_, refused, failed := c.WaitVerdict(c.Say(text))
	if failed != nil {
		t.Fatalf("%s: %v", text, failed)
	}
	return refused
}

// whois asks /whois name and returns the server's answer.
func whois(t *testing.T, c *chattest.Client, name string) string {
	t.Helper()
	seen := len(c.Messages())
	if refused := command(t, c, "/whois "+name); refused != "" {
		return refused
	}
	var answer string
	c.WaitUntil("/whois "+name, func(ms []core.Message) bool {
		for _, m := range ms[seen:] {
			if m.Kind == core.KindSystem && strings.HasPrefix(core.FoldName(m.Text), core.FoldName(name)+": ") {
				answer = m.Text
				return true
			}
		}
		return false
	})
	return answer
}

// waitRegistered waits until name is registered to key, as /whois says.
func waitRegistered(t *testing.T, c *chattest.Client, name string, key ed25519.PrivateKey) {
	t.Helper()
	want := name + ": key " + short(key) + " (nickname registered to it)"
	if got := whois(t, c, name); !strings.HasPrefix(got, want) {
		t.Fatalf("/whois %s = %q, want it to start %q", name, got, want)
	}
}

// TestRegisteredNickname: a registered nickname is refused to another key,
// to a client without one, and to a seed client, and returned to its
// owner from a new address, and after a client restart (its old session
// still there, holding the name), in either way of registering.
func TestRegisteredNickname(t *testing.T) {
	for _, mode := range []server.RegisterMode{server.RegisterAuto, server.RegisterCommand} {
		t.Run(string(mode), func(t *testing.T) {
			room := chattest.Start(t, chattest.Options{Server: func(c *server.Config) { c.Register = mode }})
			owner, other := newKey(t), newKey(t)
			alice := room.JoinWith(keyed("alice", owner))
			if got := alice.Info().ClientKey; !got.Equal(owner.Public()) {
				t.Fatalf("the server did not sign alice's key into the handshake: %x", got)
			}
			if mode == server.RegisterCommand {
				// Not registered until asked.
				if got := whois(t, alice, "alice"); strings.Contains(got, "registered") {
					t.Fatalf("/whois alice before /register = %q", got)
				}
				if refused := command(t, alice, "/register"); refused != "" {
					t.Fatalf("/register refused: %s", refused)
				}
			}
			waitRegistered(t, alice, "alice", owner)

			// Another key, while alice is here: a guest name, and why.
			mallory := room.JoinWith(keyed("alice", other))
			if got := mallory.Info().Nick; got == "alice" {
				t.Fatal("another key was given the registered nickname")
			}
			mallory.WaitMessage("why not alice", func(m core.Message) bool {
				return m.Kind == core.KindError && strings.Contains(m.Text, `nickname "alice" is registered to another key`)
			})
			seedc := room.Raw()
			seedc.Handshake(chattest.Keys.Key(0))
			seedc.SendData(0, "here")
			seedc.ExpectAck(0)

			// alice leaves: the name is free, but not to others.
			alice.Stop()
			mallory.WaitMessage("alice left", isSystem("alice left"))
			if refused := command(t, mallory, "/nick alice"); refused != `nickname "alice" is taken` {
				t.Errorf("/nick alice by another key: verdict %q", refused)
			}
			seedc.SendData(1, "/nick alice")
			seedc.ReadNotice(`nickname "alice" is taken`)
			if anon := room.JoinWith(nick("alice")); anon.Info().Nick == "alice" {
				t.Error("a client without a key was given the registered nickname")
			}

			// Its owner, from a new address.
			off := new(atomic.Bool)
			back := room.JoinWith(func(c *client.Config) {
				keyed("alice", owner)(c)
				c.Transport = muted{c.Transport, off}
			})
			if got := back.Info().Nick; got != "alice" {
				t.Fatalf("the owner from a new address was given %q", got)
			}
			mallory.WaitMessage("alice back", isSystem("alice joined"))

			// The owner's client restarts: its old session cannot say
			// goodbye, and still holds the name when the new one comes.
			off.Store(true)
			back.Stop()
			restarted := room.JoinWith(keyed("alice", owner))
			if got := restarted.Info().Nick; got != "alice" {
				t.Fatalf("the owner after a restart was given %q", got)
			}
			mallory.WaitMessage("the old session renamed", func(m core.Message) bool {
				return m.Kind == core.KindSystem && strings.HasPrefix(m.Text, "alice is now known as guest")
			})
			restarted.Say("it is me again")
			mallory.WaitMessage("alice's line", func(m core.Message) bool {
				return m.Kind == core.KindChat && m.From == "alice" && m.Text == "it is me again"
			})
			waitRegistered(t, mallory, "alice", owner)
		})
	}
}

// TestRegistrationsPersist: registrations are kept in a file of mode 0600
// that a restarted server reads: the name is still refused to others, and
// still its owner's.
func TestRegistrationsPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), server.RegistrationsFile)
	room := chattest.Start(t, chattest.Options{Server: func(c *server.Config) {
		regs, err := server.OpenRegistrations(path)
		if err != nil {
			t.Fatal(err)
		}
		c.Registrations = regs
	}})
	owner := newKey(t)
	alice := room.JoinWith(keyed("alice", owner))
	waitRegistered(t, alice, "alice", owner)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("registrations file mode %#o, want 0600", st.Mode().Perm())
	}
	alice.Stop()

	room.RestartServer()
	if mallory := room.JoinWith(keyed("alice", newKey(t))); mallory.Info().Nick == "alice" {
		t.Error("after a restart, another key was given the registered nickname")
	}
	back := room.JoinWith(keyed("alice", owner))
	if got := back.Info().Nick; got != "alice" {
		t.Fatalf("after a restart, the owner was given %q", got)
	}
	waitRegistered(t, back, "alice", owner)
}

// TestRegisterCommands: /register, /unregister and /whois with odd
// arguments, without a key, and by the wrong key, each refused with a
// reason; /unregister by its owner frees the name.
func TestRegisterCommands(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(c *server.Config) { c.Register = server.RegisterCommand }})
	owner, other := newKey(t), newKey(t)
	alice := room.JoinWith(keyed("alice", owner))
	bob := room.JoinWith(keyed("bob", other))
	anon := room.JoinWith(nick("carol"))
	guest := room.JoinWith(keyed("", newKey(t)))
	for _, tt := range []struct {
		who  *chattest.Client
		text string
		want string // the refusal, or "" for accepted
	}{
		{alice, "/register bob", "usage: /register registers the nickname you have (alice); /nick NAME first for another"},
		{alice, "/register alice extra", "usage: /register registers the nickname you have (alice); /nick NAME first for another"},
		{alice, "/register " + strings.Repeat("a", 300), "usage: /register registers the nickname you have (alice); /nick NAME first for another"},
		{anon, "/register", "registering a nickname needs a client key, which your client did not prove (udpchat's own client has one)"},
		{guest, "/register", "guest names are the server's, not registered: /nick NAME first"},
		{alice, "/register", ""},
		{alice, "/register ALICE", "alice is already registered to your key"},
		{bob, "/unregister alice", "alice is not registered to your key"},
		{bob, "/unregister", "bob is not registered to your key"},
		{bob, "/unregister not a name", "usage: /unregister [NAME]: NAME, or your nickname, registered to your key"},
		{bob, "/unregister " + strings.Repeat("b", 300), "usage: /unregister [NAME]: NAME, or your nickname, registered to your key"},
		{anon, "/unregister alice", "you have no client key, so no nickname of yours is registered"},
		{bob, "/whois", "usage: /whois NAME"},
		{bob, "/whois a b", "usage: /whois NAME"},
		{bob, "/whois " + strings.Repeat("w", 300), "usage: /whois NAME"},
		{bob, "/whois nobody", "no such user: nobody"},
		{bob, "/whois \u202ealice", "message contains bidirectional override or isolate characters (U+202A–U+202E, U+2066–U+2069)"},
		{bob, "/nick alice", `nickname "alice" is taken`},
	} {
		if got := command(t, tt.who, tt.text); got != tt.want {
			t.Errorf("%s: verdict %q, want %q", tt.text, got, tt.want)
		}
	}
	if got, want := whois(t, bob, "carol"), "carol: no client key, idle"; !strings.HasPrefix(got, want) {
		t.Errorf("/whois carol = %q, want it to start %q", got, want)
	}
	if got := whois(t, bob, "ALICE"); !strings.HasSuffix(got, "protocol 2, channels #lobby") {
		t.Errorf("/whois ALICE = %q, want alice's protocol and channels", got)
	}

	// Its owner frees it, and the other key may take it then.
	if got := command(t, alice, "/unregister"); got != "" {
		t.Fatalf("/unregister by its owner: %q", got)
	}
	alice.WaitMessage("unregistered", isSystem("alice is no longer registered"))
	if got := command(t, alice, "/nick alice2"); got != "" {
		t.Fatalf("/nick alice2: %q", got)
	}
	if got := command(t, bob, "/nick alice"); got != "" {
		t.Errorf("/nick alice once freed: %q", got)
	}
}

// TestRegistrationOff: with registration off nothing is registered and
// the commands say so; /whois still tells the key.
func TestRegistrationOff(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(c *server.Config) { c.Register = server.RegisterOff }})
	key := newKey(t)
	alice := room.JoinWith(keyed("alice", key))
	if got := command(t, alice, "/register"); got != "nickname registration is off on this server" {
		t.Errorf("/register: %q", got)
	}
	if got := command(t, alice, "/unregister"); got != "nickname registration is off on this server" {
		t.Errorf("/unregister: %q", got)
	}
	if got, want := whois(t, alice, "alice"), "alice: key "+short(key)+", idle"; !strings.HasPrefix(got, want) {
		t.Errorf("/whois alice = %q, want it to start %q", got, want)
	}
}

// syncBuffer is a log a test reads while the server writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestUnprovenClientKey: a KEY_REQ that claims a key it does not prove (a
// signature over another transcript, another key's, none, or a signature
// without a key) gets no KEY_REP and is logged; the same client's honest
// KEY_REQ after it is answered, and is the first thing answered.
func TestUnprovenClientKey(t *testing.T) {
	var logs syncBuffer
	room := chattest.Start(t, chattest.Options{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		// Twelve handshakes from one address, in a moment.
		Server: func(c *server.Config) { c.HandshakeLimit = server.RateLimit{} },
	})
	key, other := newKey(t), newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	for i, tt := range []struct {
		name string
		edit func(p *core.Packet)
	}{
		{"signature over another nickname", func(p *core.Packet) {
			p.ClientKey = pub
			p.ClientSig = identity.SignHello(key, identity.Transcript{Hello: p.Payload, Suites: p.Suites, Nick: "bob"})
		}},
		{"signature over another hello", func(p *core.Packet) {
			p.ClientKey = pub
			p.ClientSig = identity.SignHello(key, identity.Transcript{Hello: []byte("another"), Suites: p.Suites, Nick: p.Nick})
		}},
		{"another key's signature", func(p *core.Packet) {
			p.ClientKey = pub
			p.ClientSig = identity.SignHello(other, identity.Transcript{Hello: p.Payload, Suites: p.Suites, Nick: p.Nick})
		}},
		{"a key without a signature", func(p *core.Packet) { p.ClientKey = pub }},
		{"a signature without a key", func(p *core.Packet) {
			p.ClientSig = identity.SignHello(key, identity.Transcript{Hello: p.Payload, Suites: p.Suites, Nick: p.Nick})
		}},
		{"a short key", func(p *core.Packet) {
			p.ClientKey = pub[:31]
			p.ClientSig = identity.SignHello(key, identity.Transcript{Hello: p.Payload, Suites: p.Suites, Nick: p.Nick})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := room.Raw()
			defer c.Close()
			bad, _ := c.Hello(chattest.Keys.Key(2 * i))
			bad.Version, bad.Nick, bad.Suites = 2, "alice", []string{seed.Name}
			tt.edit(bad)
			c.SendPacket(bad)
			// HandshakeV2 checks that the first KEY_REP is signed over
			// its own hello: one answering the bad KEY_REQ fails it.
			c.HandshakeV2(chattest.Keys.Key(2*i+1), "alice")
		})
	}
	if n := strings.Count(logs.String(), "KEY_REQ claims a client key it does not prove"); n != 6 {
		t.Errorf("%d refusals logged, want 6:\n%s", n, logs.String())
	}
}

// TestOperators: isOperator is true for a session that proved an operator's
// key, and for no other; a bad fingerprint is refused at New, naming it.
func TestOperators(t *testing.T) {
	op := newKey(t)
	room := chattest.Start(t, chattest.Options{Server: func(c *server.Config) {
		c.Operators = []string{identity.Fingerprint(op.Public().(ed25519.PublicKey))}
	}})
	for _, tt := range []struct {
		name string
		key  ed25519.PrivateKey
		want bool
	}{
		{"oper", op, true},
		{"other", newKey(t), false},
		{"anon", nil, false},
	} {
		c := room.JoinWith(keyed(tt.name, tt.key))
		command(t, c, "/who") // confirmed and named by now
		if got := room.Server.IsOperator(tt.name); got != tt.want {
			t.Errorf("isOperator(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
	seedc := room.Raw()
	seedc.Handshake(chattest.Keys.Key(0))
	seedc.SendData(0, "here")
	seedc.ExpectAck(0)
	if room.Server.IsOperator(seedc.Addr().String()) {
		t.Error("a seed client is an operator")
	}

	for _, bad := range []string{"SHA256:short", identity.ShortFingerprint(op.Public().(ed25519.PublicKey)), ""} {
		tr, err := memory.NewNetwork().Listen(chattest.Loopback)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		_, err = server.New(server.Config{Transport: tr, Codec: json.Codec{}, Suite: seed.Suite{}, Reliability: stopwait.Layer{},
			Operators: []string{identity.Fingerprint(op.Public().(ed25519.PublicKey)), bad}})
		if err == nil || !strings.Contains(err.Error(), "operators[1]") || strings.Contains(err.Error(), "\n") {
			t.Errorf("operator %q: New = %v, want one line naming operators[1]", bad, err)
		}
	}
}

// openDirectory is a directory in which every claim holds and nobody else
// is: enough for a server to know it is one of several.
type openDirectory struct{}

func (openDirectory) Open(context.Context, core.DeliverFunc) (core.Presence, error) {
	return openDirectory{}, nil
}
func (openDirectory) Claim(context.Context, string, uint64, uint64) (bool, error) { return false, nil }
func (openDirectory) Release(context.Context, string, uint64) (bool, error)       { return false, nil }
func (openDirectory) Users(context.Context, int) ([]core.User, int, error)        { return nil, 0, nil }
func (openDirectory) Send(context.Context, *core.Message) error                   { return core.ErrNoSuchUser }
func (openDirectory) Close() error                                                { return nil }

// TestWhoisElsewhere: with a directory, /whois of a name not on this server
// says so, since its user may be on another, which alone knows its key.
func TestWhoisElsewhere(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(c *server.Config) { c.Directory = openDirectory{} }})
	bob := room.JoinWith(nick("bob"))
	if got := command(t, bob, "/whois alice"); got != "no such user on this server: alice" {
		t.Errorf("/whois alice = %q", got)
	}
}
