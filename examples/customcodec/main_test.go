package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/examples/customcodec/lenprefix"
	"github.com/udpchat/udpchat/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// timeout bounds every wait: for the build, the server, each event.
const timeout = 60 * time.Second

// TestChat builds the example's real binary and starts it on loopback, once
// with `codec: lenprefix` in its YAML configuration and once with `--codec
// auto`. Standard client engines then talk through it: two clients in the
// lenprefix codec, in protocol version 2 and in version 1; and, through the
// auto server, one client in lenprefix and one in json. Each message must
// reach the other client, and every datagram each client reads must be in
// its codec, as lenprefix's Sniff tells.
func TestChat(t *testing.T) {
	dir := t.TempDir()
	bin := testkit.Build(t, ".")
	cfg := filepath.Join(dir, "server.yaml")
	yaml := "codec: lenprefix\nserver:\n  listen: 127.0.0.1:0\n  data_dir: " + filepath.Join(dir, "lenprefix") + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	lenprefixServer := startServer(t, bin, "--config", cfg)
	autoServer := startServer(t, bin, "--codec", "auto", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "auto"))

	tests := []struct {
		name    string
		server  netip.AddrPort
		codecs  [2]string // alice's, bob's
		suite   string
		version uint8
	}{
		{"lenprefix v2", lenprefixServer, [2]string{lenprefix.Name, lenprefix.Name}, "x25519-chacha20poly1305", 2},
		{"lenprefix v1", lenprefixServer, [2]string{lenprefix.Name, lenprefix.Name}, "rsa-aes-cbc-hmac", 1},
		{"auto, lenprefix to json", autoServer, [2]string{lenprefix.Name, "json"}, "rsa-aes-cbc-hmac", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice := join(t, tt.server, tt.codecs[0], "alice", tt.suite, tt.version)
			bob := join(t, tt.server, tt.codecs[1], "bob", tt.suite, tt.version)
			if tt.version == 1 {
				// A version 1 client hears the room only from its first
				// DATA, which proves its address is its own.
				first, err := bob.Send(t.Context(), "bob here")
				if err != nil {
					t.Fatal(err)
				}
				bob.await(t, "delivery of its first line", func(e client.Event) bool {
					d, ok := e.(client.DeliveredEvent)
					return ok && d.ID == first
				})
			}
			text := "hello from alice in " + tt.codecs[0]
			id, err := alice.Send(t.Context(), text)
			if err != nil {
				t.Fatal(err)
			}
			alice.await(t, "delivery of its message", func(e client.Event) bool {
				d, ok := e.(client.DeliveredEvent)
				return ok && d.ID == id
			})
			got := bob.await(t, "alice's message", func(e client.Event) bool {
				m, ok := e.(client.MessageEvent)
				return ok && m.Message.Kind == core.KindChat && m.Message.Text == text
			}).(client.MessageEvent).Message
			// Version 1 names a sender by its address, version 2 by its nick.
			if want := alice.name; got.From != want {
				t.Errorf("bob got %q from %q, want from %q", got.Text, got.From, want)
			}
			for _, c := range []*chatter{alice, bob} {
				if n, bad := c.wire.read.Load(), c.wire.mismatch.Load(); n == 0 || bad != 0 {
					t.Errorf("%s read %d datagrams, %d of them not in %s", c.name, n, bad, c.wire.codec)
				}
			}
		})
	}
}

// startServer starts the binary with args, waits for it to log "server
// ready", and returns the address it bound. When the test ends it is sent
// SIGINT and must stop cleanly.
func startServer(t *testing.T, bin string, args ...string) netip.AddrPort {
	t.Helper()
	p := testkit.Start(t, bin, args...)
	t.Cleanup(func() {
		if log, err := p.Stop(t); err != nil {
			t.Errorf("server %v: %v; log:\n%s", args, err, log)
		}
	})
	m := p.WaitLog(t, regexp.MustCompile(`"server ready" addr=(127\.0\.0\.1:[1-9]\d*)`))
	return netip.MustParseAddrPort(m[1])
}

// chatter is a client engine running against the server, its events read
// by the test alone.
type chatter struct {
	*client.Client
	name string // how the server names it to others
	wire *wireCheck
}

// join connects a client speaking codec, suite and at most version to
// server, waits until it is connected in that version, and stops it when
// the test ends.
func join(t *testing.T, server netip.AddrPort, codec, nick, suite string, version uint8) *chatter {
	t.Helper()
	lookup := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	cdc, err := core.Codecs.Lookup(codec)
	lookup(err)
	st, err := core.Suites.Lookup(suite)
	lookup(err)
	rel, err := core.Reliabilities.Lookup("stop-and-wait")
	lookup(err)
	udp, err := core.Transports.Lookup("udp")
	lookup(err)
	tr, err := udp.Listen(netip.MustParseAddrPort("127.0.0.1:0"))
	lookup(err)
	wire := &wireCheck{Transport: tr, codec: codec}
	c, err := client.New(client.Config{
		Transport: wire, Server: server, Codec: cdc, Suite: st, Reliability: rel,
		ReliabilityConfig: core.ReliabilityConfig{RTO: 500 * time.Millisecond, MaxRetries: 10},
		Nick:              nick, MaxVersion: version, HandshakeRTO: 500 * time.Millisecond,
		HandshakeRetries: client.DefaultHandshakeRetries,
	})
	if err != nil {
		tr.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	ch := &chatter{Client: c, name: nick, wire: wire}
	t.Cleanup(func() {
		cancel()
		// Run says BYE and returns; its events are read until it has.
		deadline := time.After(timeout)
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: Run: %v", nick, err)
				}
				return
			case <-c.Events():
			case <-deadline:
				t.Errorf("%s: Run did not return within %v of its end", nick, timeout)
				return
			}
		}
	})
	info := ch.await(t, "connected", func(e client.Event) bool {
		s, ok := e.(client.StateEvent)
		return ok && s.State == client.StateConnected
	}).(client.StateEvent).Info
	if info.Version != version {
		t.Fatalf("%s connected in version %d, want %d", nick, info.Version, version)
	}
	if version == 1 {
		ch.name = tr.LocalAddr().String()
	}
	return ch
}

// await reads the client's events until one matches, and returns it. It
// fails the test at the deadline, or if the client gives up.
func (c *chatter) await(t *testing.T, what string, match func(client.Event) bool) client.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-c.Events():
			if match(e) {
				return e
			}
			if s, ok := e.(client.StateEvent); ok && s.State == client.StateFailed {
				t.Fatalf("%s failed (%v) waiting for %s", c.name, s.Err, what)
			}
		case <-deadline:
			t.Fatalf("%s: no %s within %v", c.name, what, timeout)
		}
	}
}

// wireCheck counts the datagrams a client reads, and those of them whose
// first byte says another codec than the client's: lenprefix's Sniff must
// claim each datagram of a lenprefix client and none of a json client.
type wireCheck struct {
	core.Transport
	codec          string
	read, mismatch atomic.Int64
}

// ReadFrom reads a datagram and checks its codec.
func (w *wireCheck) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	n, from, err := w.Transport.ReadFrom(p)
	if err == nil {
		w.read.Add(1)
		if (lenprefix.Codec{}).Sniff(p[:n]) != (w.codec == lenprefix.Name) {
			w.mismatch.Add(1)
		}
	}
	return n, from, err
}
