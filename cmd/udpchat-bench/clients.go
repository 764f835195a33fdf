package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/transport/fault"
	"github.com/udpchat/udpchat/transport/udp"
)

// FleetOptions shape the simulated clients of a run.
type FleetOptions struct {
	// Servers are the servers the clients connect to: client i to
	// spread(Servers, i).
	Servers []netip.AddrPort
	Layers  Layers
	Proto   uint8 // the highest protocol version offered: 2 or 1
	Clients int
	// Senders is how many clients send (the first ones); all if <= 0.
	Senders  int
	Messages int // per sender
	Size     int // bytes of text per message
	// Inflight bounds a sender's messages not yet acknowledged: 1 is
	// stop-and-wait, back to back. Ignored when Rate is set.
	Inflight int
	Think    time.Duration // mean pause after each acknowledgement, and a random one up to it before the first message
	// ThinkJitter spreads each pause uniformly over Think × (1 ± ThinkJitter).
	ThinkJitter float64
	Rate        float64 // messages a second per sender; 0: as fast as acknowledged
	// HandshakeConcurrency bounds the handshakes under way at once, so
	// that thousands of clients do not all time out waiting for their
	// turn at the server (and at the bench's own CPU, which decrypts
	// every KEY_REP).
	HandshakeConcurrency int
	HandshakeRTO         time.Duration
	Keys                 *keyPool // nil: the suite's own key generation
	Logger               *slog.Logger
	// Faults put each client's socket behind transport/fault, both ways,
	// client i with the seed clientSeed(FaultSeed, i).
	Faults    fault.Faults
	FaultSeed uint64
}

// fleet is N core.Clients in this process and what they saw.
type fleet struct {
	o       FleetOptions
	clients []*benchClient
	hs      *Recorder // handshake latencies
	lat     *Recorder // delivery latencies

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	connected, hsFailed atomic.Int64
	sent, acked, failed atomic.Int64
	deliveries          atomic.Int64 // distinct bench messages received
	received            atomic.Int64 // messages of every kind received
	dups, ooo           atomic.Int64
	lastDelivery        atomic.Int64 // UnixNano
}

// benchClient is one simulated client.
type benchClient struct {
	f    *fleet
	idx  int
	c    *client.Client
	tr   *countingTransport
	ft   *fault.Transport // between tr and the socket; nil without faults
	info *client.SessionInfo

	connected chan struct{} // closed once connected, or once it failed
	connErr   error         // set before connected closes, if it failed
	runDone   chan struct{}
	runErr    error
	slots     chan struct{} // a token for each message that may be sent now

	// Owned by the client's event goroutine until runDone.
	recv  map[int]*seqSet // by sender
	other int             // messages that were not bench messages (notices)
	acked seqSet          // this client's messages acknowledged
}

// newFleet opens a socket on 127.0.0.1 for each client and builds them;
// nothing runs until connect.
func newFleet(o FleetOptions) (*fleet, error) {
	if o.Senders <= 0 || o.Senders > o.Clients {
		o.Senders = o.Clients
	}
	o.Inflight = max(o.Inflight, 1)
	o.HandshakeConcurrency = max(o.HandshakeConcurrency, 1)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	f := &fleet{o: o, hs: NewRecorder(0), lat: NewRecorder(0)}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	for i := range o.Clients {
		t, err := udp.Network{}.Listen(netip.MustParseAddrPort("127.0.0.1:0"))
		if err != nil {
			f.closeUnstarted()
			return nil, fmt.Errorf("client %d: %w (ulimit -n?)", i, err)
		}
		// The counting transport sees what the client wrote and read; the
		// fault transport, under it, what then crossed the socket.
		var inner core.Transport = t
		var ft *fault.Transport
		if o.Faults != (fault.Faults{}) {
			ft = fault.Wrap(t, fault.Config{Seed: clientSeed(o.FaultSeed, i), Send: o.Faults, Receive: o.Faults})
			inner = ft
		}
		ct := &countingTransport{Transport: inner}
		cfg := client.Config{
			Transport:         ct,
			Server:            spread(o.Servers, i),
			Codec:             o.Layers.Codec,
			Suite:             o.Layers.Suite,
			Reliability:       o.Layers.Reliability,
			V1Reliability:     stopwait.Layer{},
			ReliabilityConfig: o.Layers.RelConfig,
			Nick:              fmt.Sprintf("b%d", i),
			MaxVersion:        o.Proto,
			HandshakeRTO:      o.HandshakeRTO,
			HandshakeRetries:  8,
			Keepalive:         10 * time.Second,
			Env:               core.Env{Logger: o.Logger},
		}
		if o.Keys != nil && o.Layers.Suite.Name() == seed.Name {
			cfg.NewInitiator = o.Keys.initiators
		}
		c, err := client.New(cfg)
		if err != nil {
			ct.Close()
			f.closeUnstarted()
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		if err := c.CheckText(formatMessage(i, o.Messages, time.Now(), o.Size)); err != nil {
			ct.Close()
			f.closeUnstarted()
			return nil, fmt.Errorf("message size %d: %w", o.Size, err)
		}
		bc := &benchClient{f: f, idx: i, c: c, tr: ct, ft: ft, connected: make(chan struct{}),
			runDone: make(chan struct{}), recv: make(map[int]*seqSet),
			slots: make(chan struct{}, o.Inflight)}
		for range o.Inflight {
			bc.slots <- struct{}{}
		}
		f.clients = append(f.clients, bc)
	}
	return f, nil
}

// closeUnstarted closes the sockets of clients never run.
func (f *fleet) closeUnstarted() {
	for _, c := range f.clients {
		c.tr.Close()
	}
	f.clients = nil
}

// connect runs every client, at most HandshakeConcurrency handshaking at
// once, and returns when all are connected or failed, or ctx is done. It
// returns an error if any failed.
func (f *fleet) connect(ctx context.Context) error {
	sem := make(chan struct{}, f.o.HandshakeConcurrency)
	for _, c := range f.clients {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("connect: %w", ctx.Err())
		}
		c.start()
		f.wg.Go(func() {
			select {
			case <-c.connected:
			case <-f.ctx.Done():
			}
			<-sem
		})
	}
	var errs []error
	for _, c := range f.clients {
		select {
		case <-c.connected:
			if c.connErr != nil {
				errs = append(errs, fmt.Errorf("client %d: %w", c.idx, c.connErr))
			}
		case <-ctx.Done():
			return fmt.Errorf("connect: %d of %d clients connected: %w", f.connected.Load(), len(f.clients), ctx.Err())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("connect: %d of %d clients failed: %w", len(errs), len(f.clients), errors.Join(errs[:min(len(errs), 3)]...))
	}
	return nil
}

// start runs the client and the goroutine that reads its events.
func (c *benchClient) start() {
	f := c.f
	began := time.Now()
	f.wg.Go(func() {
		defer close(c.runDone)
		c.runErr = c.c.Run(f.ctx)
	})
	f.wg.Go(func() { c.events(began) })
}

// events reads the client's events until Run returns.
func (c *benchClient) events(began time.Time) {
	f := c.f
	connected := false
	markConnected := func(err error) {
		if connected {
			return
		}
		connected = true
		c.connErr = err
		if err == nil {
			f.hs.Add(time.Since(began))
			f.connected.Add(1)
		} else {
			f.hsFailed.Add(1)
		}
		close(c.connected)
	}
	handle := func(e client.Event) {
		switch e := e.(type) {
		case client.StateEvent:
			switch e.State {
			case client.StateConnected:
				c.info = e.Info
				markConnected(nil)
			case client.StateFailed:
				markConnected(fmt.Errorf("failed: %w", e.Err))
			}
		case client.DeliveredEvent:
			f.acked.Add(1)
			c.acked.arrival(int(e.ID) - 1) // IDs count Sends from 1
			c.release()
		case client.FailedEvent:
			f.failed.Add(1)
			c.release()
		case client.MessageEvent:
			c.message(&e.Message)
		}
	}
	for {
		select {
		case e := <-c.c.Events():
			handle(e)
		case <-c.runDone:
			for {
				select {
				case e := <-c.c.Events():
					handle(e)
				default:
					markConnected(fmt.Errorf("stopped: %w", errOr(c.runErr, errors.New("before connecting"))))
					return
				}
			}
		}
	}
}

func errOr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// release gives back a send slot; there are never more outcomes than slots
// taken, but a rate-paced sender takes none, so never block.
func (c *benchClient) release() {
	select {
	case c.slots <- struct{}{}:
	default:
	}
}

// message accounts for a message received: a bench message from another
// client, or anything else.
func (c *benchClient) message(m *core.Message) {
	now := time.Now()
	c.f.received.Add(1)
	if m.Kind != core.KindChat {
		c.other++
		return
	}
	sender, seq, sent, ok := parseMessage(m.Text)
	if !ok || sender >= len(c.f.clients) || seq > c.f.o.Messages {
		c.other++
		return
	}
	s := c.recv[sender]
	if s == nil {
		s = new(seqSet)
		c.recv[sender] = s
	}
	f := c.f
	dup, ooo := s.arrival(seq)
	switch {
	case dup:
		f.dups.Add(1)
		return
	case ooo:
		f.ooo.Add(1)
	}
	f.lat.Add(now.Sub(sent))
	f.deliveries.Add(1)
	f.lastDelivery.Store(now.UnixNano())
}

// send runs every sender's loop and returns when each has sent its
// messages, or ctx is done.
func (f *fleet) send(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, f.o.Senders)
	for i, c := range f.clients[:f.o.Senders] {
		wg.Go(func() { errs[i] = c.sendAll(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sendAll sends the client's messages: each as soon as a slot is free (an
// earlier one acknowledged), after the think time, or at the rate asked
// for.
func (c *benchClient) sendAll(ctx context.Context) error {
	o := c.f.o
	var tick *time.Ticker
	if o.Rate > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
		defer tick.Stop()
	}
	var think *time.Timer
	if o.Think > 0 {
		think = time.NewTimer(o.Think)
		defer think.Stop()
	}
	for seq := range o.Messages {
		switch {
		case tick != nil:
			select {
			case <-tick.C:
			case <-ctx.Done():
				return fmt.Errorf("sender %d: %w", c.idx, ctx.Err())
			}
		default:
			select {
			case <-c.slots:
			case <-ctx.Done():
				return fmt.Errorf("sender %d: %w", c.idx, ctx.Err())
			}
			if think != nil {
				think.Reset(thinkTime(o.Think, o.ThinkJitter, seq == 0))
				select {
				case <-think.C:
				case <-ctx.Done():
					return fmt.Errorf("sender %d: %w", c.idx, ctx.Err())
				}
			}
		}
		if _, err := c.c.Send(ctx, formatMessage(c.idx, seq, time.Now(), o.Size)); err != nil {
			return fmt.Errorf("sender %d: %w", c.idx, err)
		}
		c.f.sent.Add(1)
	}
	return nil
}

// thinkTime is a sender's pause before its next message. Clients that all
// start at once, and think alike, would send in lockstep, every message of
// the room at the same instant: people do not. The first pause is a random
// phase up to mean. The rest vary by ±jitter about mean, because a fixed
// pause does not keep the phases apart: senders whose messages collide are
// acknowledged together, think alike and collide again, and within seconds
// most of a room sends in one burst.
func thinkTime(mean time.Duration, jitter float64, first bool) time.Duration {
	switch {
	case first:
		return rand.N(mean)
	case jitter <= 0:
		return mean
	}
	spread := time.Duration(2 * jitter * float64(mean))
	if spread <= 0 {
		return mean
	}
	return mean - spread/2 + rand.N(spread)
}

// outcomes is how many messages have been acknowledged or given up on.
func (f *fleet) outcomes() int64 { return f.acked.Load() + f.failed.Load() }

// stop ends every client and waits for all of the fleet's goroutines.
func (f *fleet) stop() {
	f.cancel()
	f.wg.Wait()
}

// failures counts the clients whose Run ended with an error before the
// fleet was stopped, and returns the first error. Call it after stop.
func (f *fleet) failures() (n int, first string) {
	for _, c := range f.clients {
		if c.runErr != nil && !errors.Is(c.runErr, context.Canceled) {
			if n == 0 {
				first = fmt.Sprintf("client %d: %v", c.idx, c.runErr)
			}
			n++
		}
	}
	return n, first
}

// wire sums the clients' transports.
func (f *fleet) wire() Wire {
	var w Wire
	for _, c := range f.clients {
		w.add(c.tr.wire())
	}
	return w
}

// faultStats sums the clients' fault transports; nil without faults.
func (f *fleet) faultStats() *FaultStats {
	var s *FaultStats
	for _, c := range f.clients {
		if c.ft == nil {
			continue
		}
		if s == nil {
			s = new(FaultStats)
		}
		st := c.ft.Stats()
		s.Send.add(st.Send)
		s.Receive.add(st.Receive)
	}
	return s
}

// tally is what the receivers saw, once the fleet has stopped.
type tally struct {
	// total sums the recipients: expected, the deliveries owed (every
	// acknowledged message, to every other client); received, the distinct
	// acknowledged messages received; lost, the difference; unacked, the
	// distinct messages received that their sender never saw
	// acknowledged (given up on, or still pending at the end); gaps and
	// the longest.
	total    RecipientFigures
	notices  int64 // other messages received (the server's joins and leaves)
	versions map[uint8]int
	// recipients are each client's own figures, by index.
	recipients []RecipientFigures
}

// count reconciles what was sent with what was received. Call it after
// stop.
func (f *fleet) count() tally {
	t := tally{versions: make(map[uint8]int)}
	for _, c := range f.clients {
		if c.info != nil {
			t.versions[c.info.Version]++
		}
		t.notices += int64(c.other)
		r := f.recipient(c)
		t.total.add(r)
		t.recipients = append(t.recipients, r)
	}
	return t
}
