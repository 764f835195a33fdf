// Package chattest starts a udpchat server and clients in one call, for
// tests: over real UDP on 127.0.0.1 by default, over any core.Network, and
// with faults injected on every transport if asked. It also offers a raw
// client that speaks the seed's bytes one packet at a time, to drive the
// server where a well-behaved client never would.
package chattest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/udpchat/udpchat/cipher/modern" // so that $UDPCHAT_TEST_SUITE may name it
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/roomlog/memory" // the servers' room log
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/fault"
	"github.com/udpchat/udpchat/transport/udp"
)

// Timeout bounds every wait in this package: testkit's, which every test
// waits by.
const Timeout = testkit.Timeout

// Loopback is where servers listen: 127.0.0.1 on a free port.
var Loopback = netip.MustParseAddrPort("127.0.0.1:0")

// Options shape a Room. The zero value is the seed's protocol over UDP.
type Options struct {
	Network core.Network // default: UDP
	// Faults, if set, wraps the server's transport: Send faults hit every
	// datagram to the clients, Receive faults every datagram from them.
	Faults *fault.Config
	// Reliability tunes both sides; zero fields take short test timers.
	Reliability core.ReliabilityConfig
	// Suite is the suite version 2 clients ask for; the server speaks it
	// beside the seed's. Default: the one named by $UDPCHAT_TEST_SUITE, or
	// the seed's, so that CI can run every test again under another suite.
	Suite core.Suite
	// Codecs are the codecs the server speaks at once ("auto"); clients
	// speak the first. Default: JSON.
	Codecs []core.Codec
	// Layer is the reliability layer of version 2 sessions, on the server
	// and every client: default stop-and-wait. Version 1 is always
	// stop-and-wait.
	Layer  core.Reliability
	Server func(*server.Config) // last word on the server's config
	// Addr is where the server listens: default 127.0.0.1 on a free port.
	Addr netip.AddrPort
	// Identity is the server's key: default, a new one.
	Identity ed25519.PrivateKey
	Client   func(*client.Config) // last word on each client's config
	Logger   *slog.Logger         // default: the test log
}

// Room is a running server and the clients that joined it.
type Room struct {
	t        testing.TB
	opts     Options
	Server   *server.Server
	Addr     netip.AddrPort
	Identity ed25519.PrivateKey // the server's
	Faults   *fault.Transport   // the server's, when Options.Faults is set

	ctx        context.Context
	cancel     context.CancelFunc
	stopServer func()
	wg         sync.WaitGroup
	nextID     int
}

// Start starts a server and stops it, and every client, when the test ends.
func Start(t testing.TB, opts Options) *Room {
	t.Helper()
	r := newRoom(t, opts)
	if r.Identity == nil {
		var err error
		if _, r.Identity, err = ed25519.GenerateKey(nil); err != nil {
			t.Fatal(err)
		}
	}
	r.startServer(r.opts.Addr)
	return r
}

// Remote is a Room of the server at addr, which the test runs some other
// way (udpchat-server's Run, its binary): Join and Dial start clients of
// it, stopped when the test ends, and Server is nil. Of opts, what shapes
// the clients counts (Network, Suite, Codecs, Layer, Reliability, Client,
// Logger); they must match what the server speaks.
func Remote(t testing.TB, addr netip.AddrPort, opts Options) *Room {
	t.Helper()
	r := newRoom(t, opts)
	r.Addr = addr
	r.stopServer = func() {}
	return r
}

// newRoom is a Room with opts' defaults filled in, and no server yet,
// closed when the test ends.
func newRoom(t testing.TB, opts Options) *Room {
	t.Helper()
	if opts.Network == nil {
		opts.Network = udp.Network{}
	}
	if opts.Layer == nil {
		opts.Layer = stopwait.Layer{}
	}
	if opts.Suite == nil {
		opts.Suite = defaultSuite(t)
	}
	if len(opts.Codecs) == 0 {
		opts.Codecs = []core.Codec{jsoncodec.Codec{}}
	}
	if opts.Reliability.RTO == 0 {
		opts.Reliability.RTO = 200 * time.Millisecond
	}
	if opts.Reliability.MaxRetries == 0 {
		opts.Reliability.MaxRetries = 5
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if !opts.Addr.IsValid() {
		opts.Addr = Loopback
	}
	r := &Room{t: t, opts: opts, Identity: opts.Identity}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	t.Cleanup(r.Close)
	return r
}

// StartCluster starts n servers of one room, as the nodes of a cluster
// are: each with its own socket and identity, all appending to one room
// log (in memory, closed when the test ends) and checking resume tokens
// with one key, so that a client resumes its session on any of them.
// opts.Server, if set, still has the last word on each server's config.
func StartCluster(t testing.TB, n int, opts Options) []*Room {
	t.Helper()
	log, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() }) // after the servers: Cleanup runs last in, first out
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	edit := opts.Server
	opts.Server = func(cfg *server.Config) {
		cfg.RoomLog, cfg.ResumeKey = log, key
		if edit != nil {
			edit(cfg)
		}
	}
	rooms := make([]*Room, n)
	for i := range rooms {
		rooms[i] = Start(t, opts)
	}
	return rooms
}

// DeadAddr returns an address on 127.0.0.1 where nothing listens: a UDP
// port that was free a moment ago, for a server that never answers.
func DeadAddr(t testing.TB) netip.AddrPort {
	t.Helper()
	tr, err := udp.Network{}.Listen(Loopback)
	if err != nil {
		t.Fatal(err)
	}
	addr := tr.LocalAddr()
	tr.Close()
	return addr
}

// startServer starts a server on addr, with the room's identity.
func (r *Room) startServer(addr netip.AddrPort) {
	t := r.t
	tr, err := r.opts.Network.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	r.Addr = tr.LocalAddr()
	if r.opts.Faults != nil {
		r.Faults = fault.Wrap(tr, *r.opts.Faults)
		tr = r.Faults
	}
	cfg := server.Config{
		Transport:     tr,
		Codec:         r.opts.Codecs[0],
		Codecs:        r.opts.Codecs[1:],
		Suite:         seed.Suite{},
		Suites:        []core.Suite{r.opts.Suite},
		Reliability:   r.opts.Layer,
		V1Reliability: stopwait.Layer{},
		// udpchat-server's limits, which are off at zero.
		History:        server.DefaultHistory,
		RateLimit:      server.DefaultRateLimit,
		HandshakeLimit: server.DefaultHandshakeLimit,
		// Every client of a room is on 127.0.0.1: as if behind one NAT,
		// with no per-address cap. Tests of the caps set them.
		MaxSessionsPerAddr:   -1,
		MaxSessionsPerPrefix: -1,
		ReliabilityConfig:    r.opts.Reliability,
		Identity:             r.Identity,
		Env:                  core.Env{Logger: r.opts.Logger.With("side", "server")},
	}
	if r.opts.Server != nil {
		r.opts.Server(&cfg)
	}
	r.Server, err = server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	r.stopServer = func() {
		cancel()
		<-done
	}
	r.wg.Go(func() {
		defer close(done)
		if err := r.Server.Serve(ctx); err != nil {
			t.Errorf("server: %v", err)
		}
	})
}

// StopServer stops the server, as a crash would, and leaves the clients
// running.
func (r *Room) StopServer() { r.stopServer() }

// RestartServer starts a new server, with the same address and identity
// and none of the old one's sessions.
func (r *Room) RestartServer() {
	r.t.Helper()
	r.stopServer()
	r.startServer(r.Addr)
}

// Close stops the server and every client and waits for them to end.
func (r *Room) Close() {
	r.cancel()
	r.wg.Wait()
}

// Join starts a client, nicknamed uN for its number N, and waits until it
// is connected.
func (r *Room) Join() *Client {
	r.t.Helper()
	c := r.Dial(nil)
	c.WaitState(client.StateConnected)
	return c
}

// JoinWith is Join with a last word on the client's configuration.
func (r *Room) JoinWith(edit func(*client.Config)) *Client {
	r.t.Helper()
	c := r.Dial(edit)
	c.WaitState(client.StateConnected)
	return c
}

// Dial starts a client without waiting for its handshake; edit, if not nil,
// has the last word on its configuration.
func (r *Room) Dial(edit func(*client.Config)) *Client {
	r.t.Helper()
	tr, err := r.opts.Network.Listen(Loopback)
	if err != nil {
		r.t.Fatal(err)
	}
	local := tr.LocalAddr()
	cfg := client.Config{
		Transport:         tr,
		Server:            r.Addr,
		Codec:             r.opts.Codecs[0],
		Suite:             r.opts.Suite,
		Reliability:       r.opts.Layer,
		V1Reliability:     stopwait.Layer{},
		ReliabilityConfig: r.opts.Reliability,
		HandshakeRTO:      r.opts.Reliability.RTO,
		HandshakeRetries:  8,
		Nick:              fmt.Sprintf("u%d", r.nextID+1),
		NewInitiator:      r.initiators(),
		Env:               core.Env{Logger: r.opts.Logger.With("side", fmt.Sprintf("client%d", r.nextID))},
	}
	r.nextID++
	if r.opts.Client != nil {
		r.opts.Client(&cfg)
	}
	if edit != nil {
		edit(&cfg)
	}
	cc, err := client.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	c := &Client{Client: cc, t: r.t, Addr: local, name: local.String(), changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(r.ctx)
	c.cancel = cancel
	c.done, c.drained = make(chan struct{}), make(chan struct{})
	r.wg.Go(func() {
		defer close(c.done)
		c.runErr = cc.Run(ctx)
	})
	r.wg.Go(func() { c.collect(ctx) })
	return c
}

// KeyPool hands out RSA keys generated once per test binary, so that tests
// do not spend their time in key generation. Successive handshakes of one
// client get different keys, as a new session needs.
type KeyPool struct {
	once sync.Once
	keys []*rsa.PrivateKey
}

// Keys is the shared pool.
var Keys KeyPool

// Key returns the i-th key of the pool, modulo its size.
func (p *KeyPool) Key(i int) *rsa.PrivateKey {
	p.once.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			p.keys = append(p.keys, k)
		}
	})
	return p.keys[i%len(p.keys)]
}

// Initiators returns a NewInitiator function for client n.
func (p *KeyPool) Initiators(n int) func() (core.Initiator, error) {
	var mu sync.Mutex
	next := n
	return func() (core.Initiator, error) {
		mu.Lock()
		k := p.Key(next)
		next++
		mu.Unlock()
		return seed.NewInitiatorFromKey(k)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// SuiteEnv names the environment variable that picks the suite version 2
// clients ask for where a test does not say.
const SuiteEnv = "UDPCHAT_TEST_SUITE"

func defaultSuite(t testing.TB) core.Suite {
	name := os.Getenv(SuiteEnv)
	if name == "" {
		return seed.Suite{}
	}
	suite, err := core.Suites.Lookup(name)
	if err != nil {
		t.Fatalf("%s: %v", SuiteEnv, err)
	}
	return suite
}

// initiators returns the NewInitiator of the next client: pooled RSA keys for
// the seed suite, fresh keys for any other.
func (r *Room) initiators() func() (core.Initiator, error) {
	if _, ok := r.opts.Suite.(seed.Suite); ok {
		return Keys.Initiators(r.nextID)
	}
	return nil
}
