package client_test

import (
	"crypto/ed25519"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/modern"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

// TestLostKeyRepRecovered: the seed's client never retries KEY_REQ and hangs
// when the KEY_REP is lost. Ours sends it again and connects.
func TestLostKeyRepRecovered(t *testing.T) {
	var dropped atomic.Int32
	room := chattest.Start(t, chattest.Options{Client: func(cfg *client.Config) {
		cfg.Transport = &dropFirstRead{Transport: cfg.Transport, n: 1, dropped: &dropped}
	}})
	c := room.Join()
	c.WaitDelivered(c.Say("made it"))
	if dropped.Load() != 1 {
		t.Fatal("the KEY_REP was not dropped: the test tested nothing")
	}
	if n := room.Server.Stats().Handshake; n != 1 {
		t.Fatalf("%d sessions started, want 1: the retry must reuse the session", n)
	}
}

// dropFirstRead loses the first n datagrams the client reads.
type dropFirstRead struct {
	core.Transport
	n       int32
	dropped *atomic.Int32
}

func (d *dropFirstRead) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	for {
		n, from, err := d.Transport.ReadFrom(p)
		if err != nil || d.dropped.Load() >= d.n {
			return n, from, err
		}
		d.dropped.Add(1)
	}
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
	// A version 1 client hears the room only from its first DATA, which
	// proves its address is its own.
	b.WaitDelivered(b.Say("here"))
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

// TestSuiteNeedsV2Refused: a client set to speak only version 1 with a suite
// that needs version 2 is refused at once, saying why.
func TestSuiteNeedsV2Refused(t *testing.T) {
	tr, err := memory.NewNetwork().Listen(chattest.Loopback) // never used: New refuses first
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, err = client.New(client.Config{
		Transport: tr, Server: chattest.Loopback, Codec: jsoncodec.Codec{},
		Suite: modern.Suite{}, Reliability: stopwait.Layer{}, MaxVersion: 1,
	})
	if err == nil || !strings.Contains(err.Error(), modern.Name+" needs protocol version 2") {
		t.Fatalf("NewClient = %v, want a refusal naming the suite", err)
	}
}
