package main

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/transport/fault"
	"github.com/udpchat/udpchat/transport/memory"
)

// Link is the emulated path of one hop: the measurement, the same
// loss each way and a fixed delay each way (10 ms, a 20 ms round trip).
type Link struct {
	Loss  float64
	Delay time.Duration
	Seed  uint64 // the run's; hop i draws with hopSeed(Seed, i)
}

// faults are what each direction of a hop does to its datagrams.
func (l Link) faults() fault.Faults { return fault.Faults{Loss: l.Loss, Delay: l.Delay} }

// hopSeed is the fault seed of hop i: the run's own for the first hop, so
// that every one-hop row meets the faults of the same seed, and a
// different stream for the second.
func hopSeed(seed uint64, hop int) uint64 { return seed ^ uint64(hop)*0x9e3779b97f4a7c15 }

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

// listenNear binds the near end of hop i on n: behind transport/fault,
// both directions, so that what it sends and what it receives each meet
// the hop's faults once, on the hop's own seed. The far end is a plain
// endpoint of n. Every row puts the end that a message enters the hop by
// (the sender) or leaves it by (the relay's receiver) at near, so that the
// rows meet the same faults in the same order of datagrams.
func listenNear(n *memory.Network, l Link, i int) (*fault.Transport, error) {
	t, err := n.Listen(loopback)
	if err != nil {
		return nil, fmt.Errorf("hop %d: %w", i, err)
	}
	f := l.faults()
	return fault.Wrap(t, fault.Config{Seed: hopSeed(l.Seed, i), Send: f, Receive: f}), nil
}

// countingTransport counts the datagrams written through it, to one
// address only when to is set: the relay's server writes to both clients,
// and only what it writes to the receiver is the second hop's sending.
type countingTransport struct {
	core.Transport
	to     netip.AddrPort
	writes atomic.Uint64
}

// WriteTo implements core.Transport.
func (c *countingTransport) WriteTo(p []byte, addr netip.AddrPort) (int, error) {
	if !c.to.IsValid() || addr == c.to {
		c.writes.Add(1)
	}
	return c.Transport.WriteTo(p, addr)
}

// Writes is how many datagrams have been counted.
func (c *countingTransport) Writes() uint64 { return c.writes.Load() }
