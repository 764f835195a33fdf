// Package transporttest is the conformance suite of core.Network and
// core.Transport, as golang.org/x/net/nettest.TestConn is for net.Conn: an
// exported function that any transport, ours or a third party's, calls
// from its own tests to be held to the contract in core/transport.go.
//
//	func TestNetwork(t *testing.T) { transporttest.TestNetwork(t, mytransport.Network{}) }
//
// It listens on 127.0.0.1:0 only, and sends only to the transports it
// opened there.
package transporttest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Loopback is the only address the suite listens on: any port of
// 127.0.0.1.
var Loopback = netip.MustParseAddrPort("127.0.0.1:0")

// waitLimit bounds every wait, so that a lost datagram fails the test
// instead of hanging it. No check depends on how fast anything happens.
const waitLimit = 10 * time.Second

// TestNetwork runs the conformance suite against n, each part a subtest:
// TestLocalAddr, TestExchange, TestSizes, TestClose, TestConcurrent and,
// where the transport is a core.BatchTransport, TestBatch.
func TestNetwork(t *testing.T, n core.Network) {
	t.Run("LocalAddr", func(t *testing.T) { TestLocalAddr(t, n) })
	t.Run("Exchange", func(t *testing.T) { TestExchange(t, n) })
	t.Run("Sizes", func(t *testing.T) { TestSizes(t, n) })
	t.Run("Close", func(t *testing.T) { TestClose(t, n) })
	t.Run("Concurrent", func(t *testing.T) { TestConcurrent(t, n) })
	t.Run("Batch", func(t *testing.T) { TestBatch(t, n) })
}

// Listen opens a transport of n at addr, failing the test if it cannot,
// and closes it when the test ends: for a transport's own tests.
func Listen(t testing.TB, n core.Network, addr netip.AddrPort) core.Transport {
	t.Helper()
	tr, err := n.Listen(addr)
	if err != nil {
		t.Fatalf("Listen(%v): %v", addr, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// datagram is one datagram read, with its sender.
type datagram struct {
	b    []byte
	from netip.AddrPort
}

// endpoint is a transport under test and, where it is read, what its
// reader has read.
type endpoint struct {
	core.Transport
	in      chan datagram
	stop    chan struct{}
	done    chan struct{}
	readErr error // the reader's last error, once done is closed
}

// listen opens a transport of n on Loopback, closed when the test ends. If
// read, a goroutine reads it until it is closed, into ep.in.
func listen(t *testing.T, n core.Network, read bool) *endpoint {
	t.Helper()
	tr, err := n.Listen(Loopback)
	if err != nil {
		t.Fatalf("Listen(%v): %v", Loopback, err)
	}
	ep := &endpoint{Transport: tr, in: make(chan datagram, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	if !read {
		close(ep.done)
	} else {
		go ep.read()
	}
	t.Cleanup(func() {
		close(ep.stop)
		tr.Close()
		<-ep.done
	})
	return ep
}

func (ep *endpoint) read() {
	defer close(ep.done)
	for {
		buf := make([]byte, core.MaxDatagram)
		n, from, err := ep.ReadFrom(buf)
		if err != nil {
			ep.readErr = err
			return
		}
		select {
		case ep.in <- datagram{buf[:n], from}:
		case <-ep.stop:
			return
		}
	}
}

// recv returns the next datagram ep reads, failing if none comes in time.
func recv(t *testing.T, ep *endpoint) datagram {
	t.Helper()
	select {
	case d := <-ep.in:
		return d
	case <-ep.done:
		t.Fatalf("the reader of %v stopped: %v", ep.LocalAddr(), ep.readErr)
	case <-time.After(waitLimit):
		t.Fatalf("no datagram arrived at %v within %v", ep.LocalAddr(), waitLimit)
	}
	return datagram{}
}

// send writes b from ep to addr, and checks that WriteTo took all of it.
func send(t *testing.T, ep *endpoint, b []byte, addr netip.AddrPort) {
	t.Helper()
	if n, err := ep.WriteTo(b, addr); err != nil || n != len(b) {
		t.Fatalf("WriteTo(%d bytes, %v) = %d, %v", len(b), addr, n, err)
	}
}

// TestLocalAddr checks that a transport listening on 127.0.0.1:0 is bound
// to 127.0.0.1 and the port it was given, which is not 0, and that two are
// bound to two ports.
func TestLocalAddr(t *testing.T, n core.Network) {
	a, b := listen(t, n, false), listen(t, n, false)
	for _, ep := range []*endpoint{a, b} {
		if la := ep.LocalAddr(); la.Addr() != Loopback.Addr() || la.Port() == 0 {
			t.Fatalf("LocalAddr() = %v, want %v with the port it was given", la, Loopback.Addr())
		}
	}
	if a.LocalAddr() == b.LocalAddr() {
		t.Fatalf("two transports bound to %v", a.LocalAddr())
	}
}

// TestExchange checks that datagrams go both ways, each with its sender's
// address, the answer to the address ReadFrom gave, as the engines do, and
// that the writer's buffer is free again once WriteTo returns.
func TestExchange(t *testing.T, n core.Network) {
	a, b := listen(t, n, true), listen(t, n, true)
	msg := []byte("ping")
	send(t, a, msg, b.LocalAddr())
	msg[0] = 'X' // the caller's buffer is free once WriteTo returns
	got := recv(t, b)
	if string(got.b) != "ping" || got.from != a.LocalAddr() {
		t.Fatalf("read %q from %v, want %q from %v", got.b, got.from, "ping", a.LocalAddr())
	}
	send(t, b, []byte("pong"), got.from)
	if got := recv(t, a); string(got.b) != "pong" || got.from != b.LocalAddr() {
		t.Fatalf("read %q from %v, want %q from %v", got.b, got.from, "pong", b.LocalAddr())
	}
}

// TestSizes checks that datagrams of every size up to core.MaxDatagram
// arrive whole, each as one datagram, read into a buffer of
// core.MaxDatagram bytes.
func TestSizes(t *testing.T, n core.Network) {
	a, b := listen(t, n, false), listen(t, n, true)
	sizes := []int{0, 1, 100, 1500, core.MaxDatagram - 1, core.MaxDatagram}
	want := map[string]int{}
	for _, size := range sizes {
		msg := make([]byte, size)
		for i := range msg {
			msg[i] = byte(i*7 + size)
		}
		want[string(msg)]++
		send(t, a, msg, b.LocalAddr())
	}
	for range sizes {
		got := recv(t, b)
		if want[string(got.b)] == 0 {
			t.Fatalf("a datagram of %d bytes arrived that was not sent so", len(got.b))
		}
		want[string(got.b)]--
	}
}

// TestClose checks that Close unblocks a ReadFrom, which then fails with
// an error matching net.ErrClosed, as does every ReadFrom after it, and
// that WriteTo fails once the transport is closed.
func TestClose(t *testing.T, n core.Network) {
	a, peer := listen(t, n, true), listen(t, n, false)
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-a.done:
		if !errors.Is(a.readErr, net.ErrClosed) {
			t.Fatalf("ReadFrom after Close: %v, want an error matching net.ErrClosed", a.readErr)
		}
	case <-time.After(waitLimit):
		t.Fatal("ReadFrom still blocked after Close")
	}
	if _, _, err := a.ReadFrom(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrom on a closed transport: %v, want an error matching net.ErrClosed", err)
	}
	if _, err := a.WriteTo([]byte("x"), peer.LocalAddr()); err == nil {
		t.Fatal("WriteTo on a closed transport succeeded")
	}
}

// TestConcurrent checks that several goroutines may write on one
// transport at once, and that every datagram arrives, once, from it.
func TestConcurrent(t *testing.T, n core.Network) {
	a, b := listen(t, n, false), listen(t, n, true)
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				msg := fmt.Appendf(nil, "writer %d datagram %d", w, i)
				if k, err := a.WriteTo(msg, b.LocalAddr()); err != nil || k != len(msg) {
					t.Errorf("WriteTo = %d, %v", k, err)
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for range writers * each {
		got := recv(t, b)
		if got.from != a.LocalAddr() || seen[string(got.b)] {
			t.Fatalf("%q from %v: from another sender, or a second time", got.b, got.from)
		}
		seen[string(got.b)] = true
	}
}

// TestBatch checks, where the transport is a core.BatchTransport (it skips
// otherwise), that a batch written to two transports arrives whole, each
// datagram with its sender, and that ReadBatch reslices each buffer to its
// datagram.
func TestBatch(t *testing.T, n core.Network) {
	tx := listen(t, n, false)
	btx, ok := tx.Transport.(core.BatchTransport)
	if !ok {
		t.Skipf("%T is no core.BatchTransport", tx.Transport)
	}
	rx := []*endpoint{listen(t, n, false), listen(t, n, false)}
	var out []core.Datagram
	for i := range 6 {
		out = append(out, core.Datagram{B: fmt.Appendf(nil, "datagram %d", i), Addr: rx[i%2].LocalAddr()})
	}
	if k, err := btx.WriteBatch(out); k != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v; want %d, nil", k, err, len(out))
	}
	for i, ep := range rx {
		brx, ok := ep.Transport.(core.BatchTransport)
		if !ok {
			t.Fatalf("%T is a core.BatchTransport, and %T is not", tx.Transport, ep.Transport)
		}
		want := map[string]bool{}
		for j := i; j < len(out); j += 2 {
			want[string(out[j].B)] = true
		}
		for len(want) > 0 {
			for _, d := range readBatch(t, brx) {
				if !want[string(d.B)] || d.Addr != tx.LocalAddr() {
					t.Fatalf("transport %d read %q from %v, want one of %d others from %v", i, d.B, d.Addr, len(want), tx.LocalAddr())
				}
				delete(want, string(d.B))
			}
		}
	}
}

// readBatch is one ReadBatch of up to 8 datagrams, failing the test if it
// does not return in time (the cleanup's Close then ends it).
func readBatch(t *testing.T, brx core.BatchTransport) []core.Datagram {
	t.Helper()
	type result struct {
		dgs []core.Datagram
		err error
	}
	ch := make(chan result, 1)
	go func() {
		in := make([]core.Datagram, 8)
		for j := range in {
			in[j].B = make([]byte, 0, core.MaxDatagram)
		}
		k, err := brx.ReadBatch(in)
		ch <- result{in[:k], err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("ReadBatch: %v", r.err)
		}
		if len(r.dgs) == 0 {
			t.Fatal("ReadBatch returned no datagram and no error")
		}
		return r.dgs
	case <-time.After(waitLimit):
		t.Fatalf("ReadBatch returned nothing within %v", waitLimit)
	}
	return nil
}
