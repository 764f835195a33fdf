package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/reliability/window"
	_ "github.com/udpchat/udpchat/roomlog/memory" // the server's room log
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

var discard = slog.New(slog.DiscardHandler)

// runRelay sends o.Messages messages from one client to another through
// a udpchat server, the real engines on the memory network, with the
// window layer both ways of both sessions. Each client's link to the
// server is one hop behind the faults: hop 0 the sender's, hop 1 the
// receiver's. The server is udpchat-bench's load server: no rate limit,
// no history, no handshake limit; JSON and the seed's suite, the
// defaults. The sender calls Send back to back: it blocks while the
// client's queue (the window, as in the layer rows) is full.
func runRelay(o Options, l Link, win int) (Result, error) {
	n := memory.NewNetwork()
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	srvT, err := n.Listen(loopback)
	if err != nil {
		return Result{}, err
	}
	closers = append(closers, srvT.Close)
	aT, err := listenNear(n, l, 0)
	if err != nil {
		return Result{}, err
	}
	closers = append(closers, aT.Close)
	bT, err := listenNear(n, l, 1)
	if err != nil {
		return Result{}, err
	}
	closers = append(closers, bT.Close)

	// What the sending sides put on the link: the sender's datagrams to
	// the server, and the server's to the receiver.
	aOut := &countingTransport{Transport: aT}
	srvOut := &countingTransport{Transport: srvT, to: bT.LocalAddr()}
	var base atomic.Uint64
	rec := newRecorder(o.Messages, func(res *Result) { res.Tx = aOut.Writes() + srvOut.Writes() - base.Load() })

	rc := layerConfig(win)
	srv, err := newRelayServer(srvOut, rc)
	if err != nil {
		return Result{}, err
	}
	a, err := newRelayClient(aOut, srvT.LocalAddr(), "sender", rc)
	if err != nil {
		return Result{}, err
	}
	b, err := newRelayClient(bT, srvT.LocalAddr(), "receiver", rc)
	if err != nil {
		return Result{}, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() {
		if err := srv.Serve(ctx); err != nil {
			rec.fail(fmt.Errorf("server: %w", err))
		}
	})
	aReady, bReady := make(chan struct{}), make(chan struct{})
	for _, c := range []*client.Client{a, b} {
		wg.Go(func() {
			if err := c.Run(ctx); err != nil {
				rec.fail(fmt.Errorf("client: %w", err))
			}
		})
	}
	wg.Go(func() { relayEvents(ctx, rec, a, aReady, nil) })
	wg.Go(func() { relayEvents(ctx, rec, b, bReady, rec.deliver) })
	// Each client is ready once the server answered its PING, which
	// proves it holds its keys: till then the server sends it nothing.
	// The handshakes cross the faults too, and may take seconds.
	for _, ready := range []chan struct{}{aReady, bReady} {
		select {
		case <-ready:
		case <-rec.done:
			return Result{}, rec.wait(0)
		case <-time.After(o.Timeout):
			return Result{}, errors.New("relay: the clients did not connect in time")
		}
	}
	base.Store(aOut.Writes() + srvOut.Writes())
	wg.Go(func() {
		for i := range o.Messages {
			if _, err := a.Send(ctx, string(message(i))); err != nil {
				rec.fail(fmt.Errorf("send: %w", err))
				return
			}
			rec.hand(i)
		}
	})
	if err := rec.wait(o.Timeout); err != nil {
		return Result{}, err
	}
	cancel()
	wg.Wait()
	return rec.result(), nil
}

// newRelayServer is the server of the relay rows.
func newRelayServer(t core.Transport, rc core.ReliabilityConfig) (*server.Server, error) {
	_, id, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	return server.New(server.Config{
		Transport:         t,
		Codec:             jsoncodec.Codec{},
		Suite:             seed.Suite{},
		Reliability:       window.Layer{},
		V1Reliability:     stopwait.Layer{},
		ReliabilityConfig: rc,
		Identity:          id,
		// Both clients are on 127.0.0.1. The limits that are off at zero
		// (rate, history, handshakes) stay off.
		MaxSessionsPerAddr:   -1,
		MaxSessionsPerPrefix: -1,
		Env:                  core.Env{Logger: discard},
	})
}

// newRelayClient is a client of the relay rows.
func newRelayClient(t core.Transport, srv netip.AddrPort, nick string, rc core.ReliabilityConfig) (*client.Client, error) {
	return client.New(client.Config{
		Transport:         t,
		Server:            srv,
		Codec:             jsoncodec.Codec{},
		Suite:             seed.Suite{},
		Reliability:       window.Layer{},
		V1Reliability:     stopwait.Layer{},
		ReliabilityConfig: rc,
		HandshakeRTO:      200 * time.Millisecond,
		HandshakeRetries:  8,
		Nick:              nick,
		Env:               core.Env{Logger: discard},
	})
}

// relayEvents reads c's events until ctx is done: it closes ready at the
// first RTT measured, fails the run on a message refused or given up on,
// and passes the number of each chat message received to deliver, if set.
func relayEvents(ctx context.Context, rec *recorder, c *client.Client, ready chan struct{}, deliver func(int) error) {
	var once sync.Once
	for {
		var e client.Event
		select {
		case e = <-c.Events():
		case <-ctx.Done():
			return
		}
		switch e := e.(type) {
		case client.RTTEvent:
			once.Do(func() { close(ready) })
		case client.RefusedEvent:
			rec.fail(fmt.Errorf("refused: %s", e.Reason))
		case client.FailedEvent:
			rec.fail(fmt.Errorf("failed: %v", e.Err))
		case client.MessageEvent:
			if deliver == nil || e.Message.Kind != core.KindChat {
				continue
			}
			i, err := messageNumber([]byte(e.Message.Text))
			if err == nil {
				err = deliver(i)
			}
			if err != nil {
				rec.fail(err)
			}
		}
	}
}
