package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/transport/udp"
)

// spread is the server of client i: the nodes taken round-robin, so that
// each has as many clients as the others, give or take one, and the
// senders (the first clients) are spread as evenly.
func spread(servers []netip.AddrPort, i int) netip.AddrPort { return servers[i%len(servers)] }

// readyText starts the probe messages of waitCrossing.
const readyText = "udpchat-bench: ready? "

// waitCrossing waits until the nodes at addrs are ready for a run: a probe
// client on each (two on a node alone) connects, and a message the first
// one sends reaches every other. Across nodes that means it crossed the
// cluster: the routes are up and the room's log has its leader, which
// JetStream elects some seconds after the routes form. The message is
// sent again every second until it has. It returns how long that took.
func waitCrossing(ctx context.Context, addrs []netip.AddrPort, l Layers, keys *keyPool, timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n := max(len(addrs), 2)
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	connected := make(chan int, n)
	reached := make(chan int, n)
	probes := make([]*client.Client, n)
	for i := range probes {
		tr, err := udp.Network{}.Listen(netip.MustParseAddrPort("127.0.0.1:0"))
		if err != nil {
			return 0, fmt.Errorf("ready: %w", err)
		}
		cfg := client.Config{
			Transport: tr, Server: spread(addrs, i), Codec: l.Codec, Suite: l.Suite, Reliability: l.Reliability,
			ReliabilityConfig: l.RelConfig, Nick: fmt.Sprintf("probe%d", i), HandshakeRetries: 8,
			Env: core.Env{Logger: slog.New(slog.DiscardHandler)},
		}
		if keys != nil && l.Suite.Name() == seed.Name {
			cfg.NewInitiator = keys.initiators
		}
		c, err := client.New(cfg)
		if err != nil {
			tr.Close()
			return 0, fmt.Errorf("ready: %w", err)
		}
		probes[i] = c
		wg.Go(func() { c.Run(runCtx) })
		wg.Go(func() {
			told := false
			for {
				select {
				case e := <-c.Events():
					switch e := e.(type) {
					case client.StateEvent:
						if e.State == client.StateConnected {
							select {
							case connected <- i:
							case <-runCtx.Done():
							}
						}
					case client.MessageEvent:
						if !told && strings.HasPrefix(e.Message.Text, readyText) {
							told = true
							select {
							case reached <- i:
							case <-runCtx.Done():
							}
						}
					}
				case <-runCtx.Done():
					return
				}
			}
		})
	}
	for range n {
		select {
		case <-connected:
		case <-ctx.Done():
			return 0, fmt.Errorf("ready: not every node took a client within %v: %w", timeout, ctx.Err())
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for k, got := 0, 0; got < n-1; {
		if _, err := probes[0].Send(ctx, fmt.Sprintf("%s%d", readyText, k)); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return 0, fmt.Errorf("ready: %w", err)
		}
		k++
		for wait := true; wait && got < n-1; {
			select {
			case <-reached:
				got++
			case <-tick.C:
				wait = false
			case <-ctx.Done():
				return 0, fmt.Errorf("ready: a message reached %d of the other %d probe clients within %v: %w", got, n-1, timeout, ctx.Err())
			}
		}
	}
	return time.Since(t0), nil
}
