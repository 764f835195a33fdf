package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/transport/memory"
)

// TestRows runs every row with 300 messages at 5% loss each way: each run
// fails unless every message reached the receiver exactly once and in
// order (recorder.deliver), and what it reports must be sane.
func TestRows(t *testing.T) {
	const n = 300
	o := Options{Messages: n, Timeout: time.Minute}
	l := Link{Loss: 0.05, Delay: 10 * time.Millisecond, Seed: 1}
	for _, r := range rows() {
		t.Run(fmt.Sprintf("%s/hops=%d/window=%d", r.name, r.hops, r.window), func(t *testing.T) {
			res, err := r.run(o, l)
			if err != nil {
				t.Fatal(err)
			}
			if res.Messages != n || res.Elapsed <= 0 {
				t.Errorf("%d messages in %v", res.Messages, res.Elapsed)
			}
			// At least one datagram carries the messages of a burst; KCP
			// packs many, udpchat one a datagram and a hop unless it
			// bundles, when a datagram carries many too.
			if res.Tx == 0 || res.Tx > 10*uint64(n*r.hops) {
				t.Errorf("%d datagrams for %d messages over %d hop(s)", res.Tx, n, r.hops)
			}
			if strings.Contains(r.name, "bundling") && res.Tx >= n {
				t.Errorf("bundling: %d datagrams for %d messages, want fewer", res.Tx, n)
			}
			// Each hop takes 10 ms one way.
			if res.P50 < time.Duration(r.hops)*10*time.Millisecond || res.P99 < res.P50 {
				t.Errorf("latency p50 %v, p99 %v over %d hop(s)", res.P50, res.P99, r.hops)
			}
		})
	}
}

// TestRecorder: a duplicate, a gap or a reordering fails the run.
func TestRecorder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order []int
		ok    bool
	}{
		{"in order", []int{0, 1, 2}, true},
		{"duplicate", []int{0, 0, 1, 2}, false},
		{"gap", []int{0, 2, 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder(3, func(res *Result) { res.Tx = 7 })
			for i := range 3 {
				r.hand(i)
			}
			var err error
			for _, i := range tc.order {
				if err = r.deliver(i); err != nil {
					break
				}
			}
			werr := r.wait(time.Second)
			if (werr == nil) != tc.ok {
				t.Fatalf("wait = %v, want ok %v (deliver said %v)", werr, tc.ok, err)
			}
			if tc.ok && r.result().Tx != 7 {
				t.Errorf("tx %d, want what count said at the last delivery", r.result().Tx)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	for _, i := range []int{0, 1, 4999, 1234567890} {
		b := message(i)
		if len(b) != MessageSize {
			t.Fatalf("message(%d) is %d bytes", i, len(b))
		}
		if got, err := messageNumber(b); err != nil || got != i {
			t.Errorf("messageNumber(message(%d)) = %d, %v", i, got, err)
		}
	}
	if _, err := messageNumber(bytes.Repeat([]byte{'x'}, MessageSize)); err == nil {
		t.Error("messageNumber took a datagram that is no bench message")
	}
}

// TestPacketConn: the adapter carries datagrams both ways with their
// addresses, counts what it writes, and refuses deadlines, which kcp-go
// never sets on the conn it is given.
func TestPacketConn(t *testing.T) {
	n := memory.NewNetwork()
	ta, err := n.Listen(loopback)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := n.Listen(loopback)
	if err != nil {
		t.Fatal(err)
	}
	a, b := newPacketConn(ta), newPacketConn(tb)
	defer a.Close()
	defer b.Close()
	if _, err := a.WriteTo([]byte("hello"), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	k, from, err := b.ReadFrom(buf)
	if err != nil || string(buf[:k]) != "hello" || from.String() != a.LocalAddr().String() {
		t.Fatalf("ReadFrom = %q from %v, %v; want hello from %v", buf[:k], from, err, a.LocalAddr())
	}
	// An address that is not a *net.UDPAddr is parsed from its text.
	if _, err := b.WriteTo([]byte("back"), stringAddr(a.LocalAddr().String())); err != nil {
		t.Fatal(err)
	}
	if k, _, err := a.ReadFrom(buf); err != nil || string(buf[:k]) != "back" {
		t.Fatalf("ReadFrom = %q, %v", buf[:k], err)
	}
	if a.Writes() != 1 || b.Writes() != 1 {
		t.Errorf("writes %d and %d, want 1 each", a.Writes(), b.Writes())
	}
	if err := a.SetReadDeadline(time.Now()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SetReadDeadline = %v, want ErrUnsupported", err)
	}
	a.Close()
	if _, _, err := a.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadFrom after Close = %v, want net.ErrClosed", err)
	}
}

type stringAddr string

func (stringAddr) Network() string  { return "udp" }
func (a stringAddr) String() string { return string(a) }

func TestTable(t *testing.T) {
	var out strings.Builder
	tb := newTable(&out, []float64{0, 0.05})
	tb.add(row{name: "x", hops: 1, window: 128}, []*Result{
		{Messages: 4260, Elapsed: time.Second, Tx: 4260, P50: 10500 * time.Microsecond, P99: 41 * time.Millisecond},
		nil,
	})
	tb.flush()
	want := "| | hops | window | msg/s at 0% / 5% loss | tx/msg | latency p50, ms | latency p99, ms |\n" +
		"|---|---|---|---|---|---|---|\n" +
		"| x | 1 | 128 | 4,260 / failed | 1.00 / failed | 11 / failed | 41 / failed |\n"
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestDataDatagram: the layer rows' DATA carries its seq and its messages,
// one or a bundle of up to perBundle in bundleBytes, and anything else is
// refused.
func TestDataDatagram(t *testing.T) {
	for _, count := range []int{1, 2, perBundle} {
		b := dataDatagram(7, 40, count)
		if len(b) > bundleBytes {
			t.Fatalf("a DATA of %d messages is %d bytes, over %d", count, len(b), bundleBytes)
		}
		seq, msgs, err := parseData(nil, b)
		if err != nil || seq != 7 || len(msgs) != count || msgs[0] != 40 || msgs[count-1] != 40+count-1 {
			t.Fatalf("parseData(dataDatagram(7, 40, %d)) = %d, %v, %v", count, seq, msgs, err)
		}
	}
	good := dataDatagram(1, 0, 2)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"ack":       ackDatagram(core.Ack{Seq: 1, Cum: 1}),
		"no count":  good[:9],
		"zero":      append(append([]byte{}, good[:9]...), 0),
		"short":     good[:len(good)-1],
		"long":      append(append([]byte{}, good...), '.'),
		"not a msg": append(append([]byte{}, good[:dataHeader]...), bytes.Repeat([]byte{'x'}, 2*MessageSize)...),
	} {
		if _, _, err := parseData(nil, b); err == nil {
			t.Errorf("parseData took %s", name)
		}
	}
}
