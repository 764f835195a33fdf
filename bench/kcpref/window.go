package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/window"
	"github.com/udpchat/udpchat/transport/memory"
)

// layerConfig is the window layer's configuration in every udpchat row:
// server.BenchmarkReliability's (docs/PERFORMANCE.md, "Reliability: stop-
// and-wait against the window"), whose figures the issue quotes, with the
// send queue cut to the window. KCP's Write blocks once its window's worth
// of segments wait (queued or in flight); a queue of 1,024 behind a window
// of 64 would add the queue's wait to every latency, which is the
// sender's choice, not the layer's. A version 2 client's sender persists
// (client/handshake.go), so Persist is on.
func layerConfig(win int) core.ReliabilityConfig {
	return core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 30, Queue: win, Window: win, Persist: true}
}

// The datagrams of the layer row: only what the layer needs, no header,
// codec or seal, so that the row measures the reliability layer alone. A
// DATA is 'D', its seq and the message; an ACK is 'A', the seq it answers
// and the cumulative part, which a version 2 ACK always carries
// (core.Ack: Seq, and Cum with HasCum; nothing selective beyond Seq).
const (
	dataType = 'D'
	ackType  = 'A'
	dataLen  = 1 + 8 + MessageSize
	ackLen   = 1 + 8 + 8
)

func dataDatagram(seq uint64, msg []byte) []byte {
	b := binary.BigEndian.AppendUint64([]byte{dataType}, seq)
	return append(b, msg...)
}

func parseData(b []byte) (seq uint64, msg []byte, err error) {
	if len(b) != dataLen || b[0] != dataType {
		return 0, nil, fmt.Errorf("not a DATA: %d bytes", len(b))
	}
	return binary.BigEndian.Uint64(b[1:]), b[9:], nil
}

func ackDatagram(a core.Ack) []byte {
	b := binary.BigEndian.AppendUint64([]byte{ackType}, a.Seq)
	return binary.BigEndian.AppendUint64(b, a.Cum)
}

func parseAck(b []byte) (core.Ack, error) {
	if len(b) != ackLen || b[0] != ackType {
		return core.Ack{}, fmt.Errorf("not an ACK: %d bytes", len(b))
	}
	return core.Ack{Seq: binary.BigEndian.Uint64(b[1:]), Cum: binary.BigEndian.Uint64(b[9:]), HasCum: true}, nil
}

// runWindow sends o.Messages messages through udpchat's window layer
// over one hop, driven as the engines drive it: the sender, one loop like
// the client's, pushes while its queue takes more, sends what Poll gives
// and polls again on every ACK and whenever Poll asked to be called; the
// receiver classifies each DATA, hands on what Accept releases and
// acknowledges every DATA it took or had taken, as the server does, with
// its cumulative part.
func runWindow(o Options, l Link, win int) (Result, error) {
	n := memory.NewNetwork()
	near, err := listenNear(n, l, 0)
	if err != nil {
		return Result{}, err
	}
	far, err := n.Listen(loopback)
	if err != nil {
		near.Close()
		return Result{}, fmt.Errorf("hop 0: %w", err)
	}
	out := &countingTransport{Transport: near}
	var c windowCounts
	rec := newRecorder(o.Messages, func(res *Result) {
		res.Tx = out.Writes()
		res.Repairs = &Repairs{Resent: c.resent.Load(), Fast: c.fast.Load(), Timeout: c.timeout.Load(), Dups: c.dups.Load()}
	})
	cfg := layerConfig(win)
	acks := make(chan core.Ack, 4*win)
	var wg sync.WaitGroup
	wg.Go(func() { readAcks(rec, near, acks) })
	wg.Go(func() {
		sendWindow(rec, &c, window.Layer{}.NewSender(cfg).(*window.Sender), out, far.LocalAddr(), acks)
	})
	wg.Go(func() { receiveWindow(rec, &c, window.Layer{}.NewReceiver(cfg), far) })
	err = rec.wait(o.Timeout)
	near.Close()
	far.Close()
	wg.Wait()
	if err != nil {
		return Result{}, err
	}
	return rec.result(), nil
}

// windowCounts are the layer row's repairs, counted by its loops.
type windowCounts struct {
	resent, fast, timeout, dups atomic.Uint64
}

// readAcks passes the ACKs that reach the sender to its loop.
func readAcks(rec *recorder, t core.Transport, acks chan<- core.Ack) {
	buf := make([]byte, 2048)
	for {
		k, _, err := t.ReadFrom(buf)
		if err != nil {
			rec.fail(fmt.Errorf("sender read: %w", err))
			return
		}
		a, err := parseAck(buf[:k])
		if err != nil {
			rec.fail(err)
			return
		}
		select {
		case acks <- a:
		case <-rec.done:
			return
		}
	}
}

// sendWindow is the sender's loop. It tells a retransmission on the
// timeout from one before it by keeping each message's deadline as the
// Sender sets it: a resend waits the RTO as it was before that Poll, a
// first transmission as it is after (Poll backs the timeout off between
// the two).
func sendWindow(rec *recorder, c *windowCounts, snd *window.Sender, t core.Transport, to netip.AddrPort, acks <-chan core.Ack) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	pushed := 0
	deadline := make([]time.Time, rec.n)
	for {
		for pushed < rec.n {
			i := pushed
			_, err := snd.Push(func(seq uint64) ([]byte, error) { return dataDatagram(seq, message(i)), nil }, i)
			if errors.Is(err, core.ErrQueueFull) {
				break
			}
			if err != nil {
				rec.fail(fmt.Errorf("push: %w", err))
				return
			}
			rec.hand(i)
			pushed++
		}
		now, rto := time.Now(), snd.RTO()
		send, failed, next := snd.Poll(now)
		if len(failed) > 0 {
			rec.fail(fmt.Errorf("the sender gave up on %d messages", len(failed)))
			return
		}
		for _, tr := range send {
			i := tr.Ref.(int)
			if tr.Attempt == 1 {
				deadline[i] = now.Add(snd.RTO())
			} else {
				c.resent.Add(1)
				if now.Before(deadline[i]) {
					c.fast.Add(1)
				} else {
					c.timeout.Add(1)
				}
				deadline[i] = now.Add(rto)
			}
			if _, err := t.WriteTo(tr.Datagram, to); err != nil {
				rec.fail(fmt.Errorf("sender write: %w", err))
				return
			}
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = time.Until(next)
		}
		timer.Reset(wait)
		select {
		case a := <-acks:
			snd.Ack(a, time.Now())
		case <-timer.C:
		case <-rec.done:
			return
		}
	}
}

// receiveWindow is the receiver's loop.
func receiveWindow(rec *recorder, c *windowCounts, rcv core.Receiver, t core.Transport) {
	buf := make([]byte, 2048)
	for {
		k, from, err := t.ReadFrom(buf)
		if err != nil {
			rec.fail(fmt.Errorf("receiver read: %w", err))
			return
		}
		seq, msg, err := parseData(buf[:k])
		if err != nil {
			rec.fail(err)
			return
		}
		switch rcv.Classify(seq) {
		case core.ArrivalOutOfOrder:
			continue // beyond the window: dropped unacknowledged
		case core.ArrivalDuplicate:
			c.dups.Add(1)
		case core.ArrivalNew:
			i, err := messageNumber(msg)
			if err != nil {
				rec.fail(err)
				return
			}
			for _, v := range rcv.Accept(seq, i) {
				if rec.deliver(v.(int)) != nil {
					return
				}
			}
		}
		if _, err := t.WriteTo(ackDatagram(core.Ack{Seq: seq, Cum: rcv.Cumulative(), HasCum: true}), from); err != nil {
			rec.fail(fmt.Errorf("receiver write: %w", err))
			return
		}
	}
}
