package main

import (
	"fmt"
	"net"
	"sync"

	kcp "github.com/xtaci/kcp-go/v5"

	"github.com/udpchat/udpchat/transport/memory"
)

// kcpMode is a setting of KCP's SetNoDelay(nodelay, interval, resend, nc).
// and its window, in segments, both ways.
type kcpMode struct {
	name                          string
	nodelay, interval, resend, nc int
	window                        int
}

// The two modes of the issue. kcp-go itself names no modes (its NoDelay
// comment calls (1, 20, 2, 1) "fastest"); these are kcptun's presets of
// the same name, the ones kcp-go's users run: turbo is kcptun's "fast3",
// fast its "fast". Both resend after 2 later ACKs and turn congestion
// control off; turbo also lowers the minimum RTO from 100 to 30 ms, backs
// a timeout off by half an RTO instead of a whole one, and flushes every
// 10 ms instead of 30.
var (
	kcpTurbo = kcpMode{name: "turbo", nodelay: 1, interval: 10, resend: 2, nc: 1, window: kcpWindow}
	kcpFast  = kcpMode{name: "fast", nodelay: 0, interval: 30, resend: 2, nc: 1, window: kcpWindow}
	// kcpTurboWide is turbo with as many segments in flight as the
	// bundling layer row may have messages: its 128 DATA of perBundle
	// messages each. KCP's window counts segments, a message each, and
	// the layer's counts DATA; this row asks whether KCP, allowed as many
	// messages in flight, keeps up.
	kcpTurboWide = kcpMode{name: "turbo, wide", nodelay: 1, interval: 10, resend: 2, nc: 1, window: kcpWindow * perBundle}
)

// kcpWindow is the SetWindowSize(128, 128).
const kcpWindow = 128

// kcpConv is the conversation id of every session: each row has a network
// of its own.
const kcpConv = 19

// kcpSession makes a KCP session on conn that talks to peer, in mode, with
// no encryption and no FEC. Both ends are made this way (kcp.NewConn3), so
// that each has its window and mode before its first segment arrives: a
// session a Listener accepts takes the defaults (32 segments) until the
// caller gets it.
func kcpSession(conn *packetConn, peer net.Addr, mode kcpMode) (*kcp.UDPSession, error) {
	s, err := kcp.NewConn3(kcpConv, peer, nil, 0, 0, conn)
	if err != nil {
		return nil, fmt.Errorf("kcp: %w", err)
	}
	s.SetNoDelay(mode.nodelay, mode.interval, mode.resend, mode.nc)
	s.SetWindowSize(mode.window, mode.window)
	s.SetWriteDelay(false) // the default: each Write flushes
	return s, nil
}

// kcpPair is a KCP session each way of one hop: a sends to b.
type kcpPair struct {
	a, b   *kcp.UDPSession
	ca, cb *packetConn
}

// newKCPHop sets up hop i: a at its near end (behind the faults), b at
// its far end.
func newKCPHop(n *memory.Network, l Link, i int, mode kcpMode) (*kcpPair, error) {
	near, err := listenNear(n, l, i)
	if err != nil {
		return nil, err
	}
	far, err := n.Listen(loopback)
	if err != nil {
		near.Close()
		return nil, fmt.Errorf("hop %d: %w", i, err)
	}
	p := &kcpPair{ca: newPacketConn(near), cb: newPacketConn(far)}
	if p.a, err = kcpSession(p.ca, p.cb.LocalAddr(), mode); err == nil {
		p.b, err = kcpSession(p.cb, p.ca.LocalAddr(), mode)
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// close closes the sessions, then their conns, which ends their read
// loops: a session made by NewConn3 leaves its conn open.
func (p *kcpPair) close() {
	for _, s := range []*kcp.UDPSession{p.a, p.b} {
		if s != nil {
			s.Close()
		}
	}
	p.ca.Close()
	p.cb.Close()
}

// runKCP sends o.Messages messages through KCP in mode over hops hops.
// With two, a relay in the middle reads each message from the first hop's
// session and writes it to the second's, as the chat server relays a
// line: hop 0 runs from the sender (near, behind the faults) to the relay,
// hop 1 from the relay to the receiver (near, behind the faults), so that
// the receiving client's link is faulted as the sender's is.
func runKCP(o Options, l Link, mode kcpMode, hops int) (Result, error) {
	n := memory.NewNetwork()
	first, err := newKCPHop(n, l, 0, mode)
	if err != nil {
		return Result{}, err
	}
	pairs := []*kcpPair{first}
	send, recv, tx := first.a, first.b, first.ca.Writes
	if hops == 2 {
		second, err := newKCPHop(n, l, 1, mode)
		if err != nil {
			first.close()
			return Result{}, err
		}
		pairs = append(pairs, second)
		recv = second.a
		tx = func() uint64 { return first.ca.Writes() + second.cb.Writes() }
	}
	before := kcp.DefaultSnmp.Copy()
	rec := newRecorder(o.Messages, func(res *Result) {
		res.Tx = tx()
		res.Repairs = kcpRepairs(before, kcp.DefaultSnmp.Copy())
	})
	var wg sync.WaitGroup
	if hops == 2 {
		wg.Go(func() { relayKCP(rec, first.b, pairs[1].b) })
	}
	wg.Go(func() {
		for i := range o.Messages {
			if _, err := send.Write(message(i)); err != nil {
				rec.fail(fmt.Errorf("kcp write: %w", err))
				return
			}
			rec.hand(i)
		}
	})
	wg.Go(func() {
		buf := make([]byte, 2*MessageSize)
		for range o.Messages {
			k, err := recv.Read(buf)
			if err != nil {
				rec.fail(fmt.Errorf("kcp read: %w", err))
				return
			}
			i, err := messageNumber(buf[:k])
			if err == nil {
				err = rec.deliver(i)
			}
			if err != nil {
				rec.fail(err)
				return
			}
		}
	})
	err = rec.wait(o.Timeout)
	// Closing the sessions unblocks whoever still reads or writes; what
	// they report then comes after the run and is not kept.
	for _, p := range pairs {
		p.close()
	}
	wg.Wait()
	if err != nil {
		return Result{}, err
	}
	return rec.result(), nil
}

// kcpRepairs is what kcp-go's counters say of the repairs between two
// snapshots. They are kcp-go's own, for every session of the process; the
// runs are one at a time.
func kcpRepairs(before, after *kcp.Snmp) *Repairs {
	return &Repairs{
		Resent:  after.RetransSegs - before.RetransSegs,
		Fast:    after.FastRetransSegs - before.FastRetransSegs + after.EarlyRetransSegs - before.EarlyRetransSegs,
		Timeout: after.LostSegs - before.LostSegs,
		Dups:    after.RepeatSegs - before.RepeatSegs,
	}
}

// relayKCP copies messages from in to out until the run ends. KCP in
// message mode returns one message a Read.
func relayKCP(rec *recorder, in, out *kcp.UDPSession) {
	buf := make([]byte, 2*MessageSize)
	for {
		k, err := in.Read(buf)
		if err == nil {
			_, err = out.Write(buf[:k])
		}
		if err != nil {
			rec.fail(fmt.Errorf("kcp relay: %w", err))
			return
		}
	}
}
