package main

import (
	"encoding/binary"
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

// The datagrams of the layer rows: only what the layer needs, no header,
// codec or seal, so that the rows measure the reliability layer alone. A
// DATA is 'D', its seq, a count and that many messages (one, unless the
// row bundles); an ACK is 'A', the seq it answers and the cumulative part,
// which a version 2 ACK always carries (core.Ack: Seq, and Cum with
// HasCum; nothing selective beyond Seq).
const (
	dataType   = 'D'
	ackType    = 'A'
	dataHeader = 1 + 8 + 1
	ackLen     = 1 + 8 + 8
	// bundleBytes bounds a bundled DATA as kcp-go's MTU bounds the
	// datagrams it packs segments into (1,400 bytes), so that the rows
	// that pack compare datagrams of one size: 21 messages a DATA.
	bundleBytes = 1400
	perBundle   = (bundleBytes - dataHeader) / MessageSize
)

// dataDatagram is the DATA with seq carrying messages first, first+1, …,
// count of them.
func dataDatagram(seq uint64, first, count int) []byte {
	b := append(make([]byte, 0, dataHeader+count*MessageSize), dataType)
	b = append(binary.BigEndian.AppendUint64(b, seq), byte(count))
	for i := range count {
		b = append(b, message(first+i)...)
	}
	return b
}

// parseData returns a DATA's seq and the numbers of its messages,
// appended to dst.
func parseData(dst []int, b []byte) (seq uint64, msgs []int, err error) {
	if len(b) < dataHeader || b[0] != dataType || b[9] == 0 || len(b) != dataHeader+int(b[9])*MessageSize {
		return 0, dst, fmt.Errorf("not a DATA: %d bytes", len(b))
	}
	for m := b[dataHeader:]; len(m) > 0; m = m[MessageSize:] {
		i, err := messageNumber(m[:MessageSize])
		if err != nil {
			return 0, dst, err
		}
		dst = append(dst, i)
	}
	return binary.BigEndian.Uint64(b[1:]), dst, nil
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
// the client's, pushes while the layer takes more, sends what Poll gives
// and polls again on every ACK and whenever Poll asked to be called; the
// receiver classifies each DATA, hands on what Accept releases and
// acknowledges every DATA it took or had taken, as the server does, with
// its cumulative part. With bundle, the sender bundles as the server
// does for a recipient (windowSender.run).
func runWindow(o Options, l Link, win int, bundle bool) (Result, error) {
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
		w := &windowSender{rec: rec, c: &c, snd: window.Layer{}.NewSender(cfg).(*window.Sender), t: out, to: far.LocalAddr(),
			deadline: make([]time.Time, rec.n)}
		w.run(acks, win, bundle)
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

// windowSender is the sender's loop and what it keeps.
type windowSender struct {
	rec *recorder
	c   *windowCounts
	snd *window.Sender
	t   core.Transport
	to  netip.AddrPort
	// deadline is each DATA's timeout as the Sender set it, by the number
	// of its first message: a resend before it is a fast one. A resend
	// waits the RTO as it was before that Poll, a first transmission as
	// it is after (Poll backs the timeout off between the two).
	deadline []time.Time
	failed   error
}

// run is the sender's loop. Without bundle it pushes a message a DATA
// while the layer's queue (the window) takes more. With bundle it does
// what the server does for a recipient (server/cursor.go, fillLocked): a
// message goes alone while the window has room (core.Flow), and those
// that wait while it has none go together once it has, as many as a
// DATA holds (perBundle); it takes a window of messages ahead of the
// layer, as KCP's Write blocks once a window's worth of segments wait.
func (w *windowSender) run(acks <-chan core.Ack, win int, bundle bool) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	n := w.rec.n
	taken, pushed := 0, 0
	for {
		var next time.Time
		if bundle {
			for ; taken < n && taken-pushed < win; taken++ {
				w.rec.hand(taken)
			}
			next = w.poll()
			for taken > pushed && w.snd.CanSend() && w.failed == nil {
				k := min(taken-pushed, perBundle)
				w.push(pushed, k)
				pushed += k
				next = w.poll()
			}
		} else {
			for ; pushed < n && w.snd.Pending() < win && w.failed == nil; pushed++ {
				w.rec.hand(pushed)
				w.push(pushed, 1)
			}
			next = w.poll()
		}
		if w.failed != nil {
			w.rec.fail(w.failed)
			return
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = time.Until(next)
		}
		timer.Reset(wait)
		select {
		case a := <-acks:
			w.snd.Ack(a, time.Now())
		case <-timer.C:
		case <-w.rec.done:
			return
		}
	}
}

// push hands the Sender the DATA of messages first to first+count-1.
func (w *windowSender) push(first, count int) {
	if _, err := w.snd.Push(func(seq uint64) ([]byte, error) { return dataDatagram(seq, first, count), nil }, first); err != nil {
		w.failed = fmt.Errorf("push: %w", err)
	}
}

// poll sends what the Sender's Poll gives and returns when to poll again.
func (w *windowSender) poll() time.Time {
	now, rto := time.Now(), w.snd.RTO()
	send, failed, next := w.snd.Poll(now)
	if len(failed) > 0 {
		w.failed = fmt.Errorf("the sender gave up on %d messages", len(failed))
		return next
	}
	for _, tr := range send {
		i := tr.Ref.(int)
		if tr.Attempt == 1 {
			w.deadline[i] = now.Add(w.snd.RTO())
		} else {
			w.c.resent.Add(1)
			if now.Before(w.deadline[i]) {
				w.c.fast.Add(1)
			} else {
				w.c.timeout.Add(1)
			}
			w.deadline[i] = now.Add(rto)
		}
		if _, err := w.t.WriteTo(tr.Datagram, w.to); err != nil {
			w.failed = fmt.Errorf("sender write: %w", err)
			return next
		}
	}
	return next
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
		seq, msgs, err := parseData(nil, buf[:k])
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
			for _, v := range rcv.Accept(seq, msgs) {
				for _, i := range v.([]int) {
					if rec.deliver(i) != nil {
						return
					}
				}
			}
		}
		if _, err := t.WriteTo(ackDatagram(core.Ack{Seq: seq, Cum: rcv.Cumulative(), HasCum: true}), from); err != nil {
			rec.fail(fmt.Errorf("receiver write: %w", err))
			return
		}
	}
}
