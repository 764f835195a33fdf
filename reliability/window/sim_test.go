package window_test

import (
	"container/heap"
	"math/rand/v2"
	"time"

	"github.com/udpchat/udpchat/core"
)

// link is a simulated one-way path: each datagram is lost, duplicated,
// and delayed (which reorders it) at random, from a seed.
type link struct {
	rng       *rand.Rand
	delay     time.Duration // one way
	jitter    time.Duration
	loss, dup float64
}

// event is a datagram arriving at one end at a time.
type event struct {
	at    time.Time
	order int // ties broken by sending order, so runs repeat exactly
	toRcv bool
	seq   uint64
	ack   core.Ack
}

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	if e[i].at.Equal(e[j].at) {
		return e[i].order < e[j].order
	}
	return e[i].at.Before(e[j].at)
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

// simResult is what a simulated transfer did.
type simResult struct {
	delivered []uint64      // message numbers, in the order the receiver handed them on
	elapsed   time.Duration // virtual time until the last was delivered
	failed    int
	sends     int
	// spurious counts retransmissions of messages the receiver already
	// had when they were sent: what a perfect loss detector would spare.
	spurious int
}

// simulate pushes n messages through layer's sender and receiver over fwd
// (data) and back (ACKs) in virtual time, as the engines drive them: the
// sender is polled whenever it asks or an ACK arrives, the receiver
// acknowledges every DATA it can classify, with a cumulative ACK, twice if
// that does not cover the DATA.
func simulate(layer core.Reliability, cfg core.ReliabilityConfig, n int, fwd, back link) simResult {
	now := time.Unix(0, 0)
	snd, rcv := layer.NewSender(cfg), layer.NewReceiver(cfg)
	var q events
	order := 0
	transmit := func(l link, e event) {
		if l.rng.Float64() < l.loss {
			return
		}
		copies := 1
		if l.rng.Float64() < l.dup {
			copies = 2
		}
		for range copies {
			e.at = now.Add(l.delay + time.Duration(l.rng.Int64N(int64(l.jitter)+1)))
			e.order = order
			order++
			heap.Push(&q, e)
		}
	}
	var res simResult
	pushed := 0
	var next time.Time
	poll := func() {
		for pushed < n {
			num := uint64(pushed)
			if _, err := snd.Push(func(seq uint64) ([]byte, error) { return nil, nil }, num); err != nil {
				break
			}
			pushed++
		}
		send, failed, nx := snd.Poll(now)
		res.failed += len(failed)
		for _, t := range send {
			res.sends++
			if t.Attempt > 1 && rcv.Classify(seqOf(t)) == core.ArrivalDuplicate {
				res.spurious++
			}
			transmit(fwd, event{toRcv: true, seq: seqOf(t)})
		}
		next = nx
	}
	poll()
	for len(res.delivered)+res.failed < n {
		if q.Len() == 0 || !next.IsZero() && next.Before(q[0].at) {
			if next.IsZero() {
				break // nothing in flight and nothing due: stuck
			}
			now = next
			poll()
			continue
		}
		e := heap.Pop(&q).(event)
		now = e.at
		if e.toRcv {
			switch rcv.Classify(e.seq) {
			case core.ArrivalNew:
				for _, v := range rcv.Accept(e.seq, e.seq) {
					res.delivered = append(res.delivered, v.(uint64))
				}
			case core.ArrivalOutOfOrder:
				continue
			}
			ack := event{ack: core.Ack{Seq: e.seq, Cum: rcv.Cumulative(), HasCum: true}}
			if rw, ok := rcv.(core.ReceiveWindow); ok {
				// Advertised, as a client's ACKs advertise it: a
				// receiver whose application keeps up.
				ack.ack.Window, ack.ack.HasWindow = uint32(rw.Window()), true
			}
			transmit(back, ack)
			if e.seq >= rcv.Cumulative() {
				// Held behind a gap: its ACK goes twice, as the
				// engines send it (docs/PROTOCOL.md).
				transmit(back, ack)
			}
			continue
		}
		snd.Ack(e.ack, now)
		poll()
	}
	res.elapsed = now.Sub(time.Unix(0, 0))
	return res
}

// seqOf recovers the seq a transmission carries: the simulated datagrams are
// empty, so the sender's ref, the message number, stands for it. Both
// layers number messages from 0 in push order, so the two agree.
func seqOf(t core.Transmission) uint64 { return t.Ref.(uint64) }
