package memory

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/transport/transporttest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const waitLimit = 5 * time.Second

func listen(t *testing.T, n *Network, addr string) *Conn {
	t.Helper()
	return transporttest.Listen(t, n, netip.MustParseAddrPort(addr)).(*Conn)
}

func queued(c *Conn) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

type result struct {
	data []byte
	from netip.AddrPort
	err  error
}

// readAsync starts one ReadFrom and returns where its result will arrive, so a
// test can wait for it with a deadline.
func readAsync(c *Conn, size int) <-chan result {
	ch := make(chan result, 1)
	go func() {
		buf := make([]byte, size)
		n, from, err := c.ReadFrom(buf)
		ch <- result{buf[:n], from, err}
	}()
	return ch
}

func read(t *testing.T, c *Conn, size int) ([]byte, netip.AddrPort) {
	t.Helper()
	select {
	case r := <-readAsync(c, size):
		if r.err != nil {
			t.Fatalf("ReadFrom: %v", r.err)
		}
		return r.data, r.from
	case <-time.After(waitLimit):
		t.Fatal("no datagram arrived")
		return nil, netip.AddrPort{}
	}
}

// TestExchange: the conformance suite's exchange both ways.
func TestExchange(t *testing.T) { transporttest.TestExchange(t, NewNetwork()) }

func TestDatagramBoundariesAndOrder(t *testing.T) {
	n := NewNetwork()
	a, b := listen(t, n, "127.0.0.1:0"), listen(t, n, "127.0.0.1:0")
	big := bytes.Repeat([]byte{0xAB}, MaxDatagram)
	msgs := [][]byte{[]byte("one"), {}, big, []byte("four")}
	for _, m := range msgs {
		if _, err := a.WriteTo(m, b.LocalAddr()); err != nil {
			t.Fatalf("WriteTo(%d bytes): %v", len(m), err)
		}
	}
	for i, want := range msgs {
		if got, _ := read(t, b, 70000); !bytes.Equal(got, want) {
			t.Fatalf("datagram %d: got %d bytes, want %d", i, len(got), len(want))
		}
	}
}

func TestTruncatesLikeUDP(t *testing.T) {
	n := NewNetwork()
	a, b := listen(t, n, "127.0.0.1:0"), listen(t, n, "127.0.0.1:0")
	a.WriteTo([]byte("abcdef"), b.LocalAddr())
	a.WriteTo([]byte("next"), b.LocalAddr())
	if got, _ := read(t, b, 3); string(got) != "abc" {
		t.Fatalf("read %q, want %q", got, "abc")
	}
	// The rest of a truncated datagram is gone, not left for the next read.
	if got, _ := read(t, b, 100); string(got) != "next" {
		t.Fatalf("read %q, want %q", got, "next")
	}
}

func TestWriteTooLong(t *testing.T) {
	n := NewNetwork()
	a, b := listen(t, n, "127.0.0.1:0"), listen(t, n, "127.0.0.1:0")
	_, err := a.WriteTo(make([]byte, MaxDatagram+1), b.LocalAddr())
	if !errors.Is(err, core.ErrTooLong) {
		t.Fatalf("WriteTo(%d bytes) = %v, want core.ErrTooLong", MaxDatagram+1, err)
	}
}

func TestWriteToNobodyIsDropped(t *testing.T) {
	n := NewNetwork()
	a := listen(t, n, "127.0.0.1:0")
	nobody := netip.MustParseAddrPort("127.0.0.1:9")
	if k, err := a.WriteTo([]byte("lost"), nobody); err != nil || k != 4 {
		t.Fatalf("WriteTo(unbound) = %d, %v; want 4, nil", k, err)
	}
}

func TestQueueIsBounded(t *testing.T) {
	n := NewNetwork()
	a, b := listen(t, n, "127.0.0.1:0"), listen(t, n, "127.0.0.1:0")
	for i := range QueueLen + 10 {
		if _, err := a.WriteTo(fmt.Appendf(nil, "%d", i), b.LocalAddr()); err != nil {
			t.Fatalf("WriteTo #%d into a full queue: %v, want a silent drop", i, err)
		}
	}
	if got := queued(b); got != QueueLen {
		t.Fatalf("queue holds %d datagrams, want %d", got, QueueLen)
	}
	// The oldest survive, as in a socket buffer: the overflow is what is lost.
	for i := range QueueLen {
		if got, _ := read(t, b, 16); string(got) != fmt.Sprint(i) {
			t.Fatalf("datagram %d is %q", i, got)
		}
	}
	if got := queued(b); got != 0 {
		t.Fatalf("%d datagrams beyond the bound were kept", got)
	}
}

// TestCloseUnblocksReadFrom: the conformance suite's check of Close; and
// after it WriteTo and a second Close fail with net.ErrClosed.
func TestCloseUnblocksReadFrom(t *testing.T) {
	transporttest.TestClose(t, NewNetwork())
	c := listen(t, NewNetwork(), "127.0.0.1:0")
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.WriteTo([]byte("x"), c.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo on a closed endpoint: %v, want net.ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v, want net.ErrClosed", err)
	}
}

func TestCloseDiscardsBacklog(t *testing.T) {
	n := NewNetwork()
	a, b := listen(t, n, "127.0.0.1:0"), listen(t, n, "127.0.0.1:0")
	a.WriteTo([]byte("queued"), b.LocalAddr())
	b.Close()
	if _, _, err := b.ReadFrom(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrom after Close with a backlog: %v, want net.ErrClosed", err)
	}
}

func TestBindTwiceAndRebindAfterClose(t *testing.T) {
	n := NewNetwork()
	first := listen(t, n, "127.0.0.1:7000")
	if tr, err := n.Listen(first.LocalAddr()); !errors.Is(err, syscall.EADDRINUSE) {
		if tr != nil {
			tr.Close()
		}
		t.Fatalf("second Listen(%v) = %v, want EADDRINUSE", first.LocalAddr(), err)
	}
	sender := listen(t, n, "127.0.0.1:0")
	first.Close()

	// Writes to a closed endpoint's address vanish.
	if _, err := sender.WriteTo([]byte("to the dead"), first.LocalAddr()); err != nil {
		t.Fatalf("WriteTo(closed endpoint): %v", err)
	}

	second := listen(t, n, "127.0.0.1:7000")
	if _, err := sender.WriteTo([]byte("to the living"), second.LocalAddr()); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if got, _ := read(t, second, 100); string(got) != "to the living" {
		t.Fatalf("rebound endpoint read %q; a datagram sent before it was bound leaked in", got)
	}
}

func TestListenAddresses(t *testing.T) {
	n := NewNetwork()
	for _, tc := range []struct {
		in       netip.AddrPort
		wantAddr string
	}{
		{netip.AddrPort{}, "127.0.0.1"},
		{netip.MustParseAddrPort("0.0.0.0:0"), "127.0.0.1"},
		{netip.MustParseAddrPort("[::]:0"), "127.0.0.1"},
		{netip.MustParseAddrPort("127.0.0.1:0"), "127.0.0.1"},
		{netip.MustParseAddrPort("[::ffff:127.0.0.1]:0"), "127.0.0.1"},
	} {
		tr, err := n.Listen(tc.in)
		if err != nil {
			t.Fatalf("Listen(%v): %v", tc.in, err)
		}
		la := tr.LocalAddr()
		tr.Close()
		if la.Addr().String() != tc.wantAddr || la.Port() < firstEphemeral {
			t.Errorf("Listen(%v) bound %v, want %s and an ephemeral port", tc.in, la, tc.wantAddr)
		}
	}
}

func TestWriteTo4in6Destination(t *testing.T) {
	n := NewNetwork()
	a, b := listen(t, n, "127.0.0.1:0"), listen(t, n, "127.0.0.1:0")
	mapped := netip.AddrPortFrom(netip.AddrFrom16(b.LocalAddr().Addr().As16()), b.LocalAddr().Port())
	a.WriteTo([]byte("x"), mapped)
	if got, _ := read(t, b, 10); string(got) != "x" {
		t.Fatalf("read %q", got)
	}
}

func TestPortExhaustion(t *testing.T) {
	n := NewNetwork()
	total := lastEphemeral - firstEphemeral + 1
	conns := make([]*Conn, 0, total)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range total {
		tr, err := n.Listen(netip.AddrPort{})
		if err != nil {
			t.Fatalf("Listen #%d: %v", len(conns), err)
		}
		conns = append(conns, tr.(*Conn))
	}
	if tr, err := n.Listen(netip.AddrPort{}); err == nil {
		tr.Close()
		t.Fatal("Listen succeeded with every ephemeral port bound")
	}
	conns[100].Close()
	tr, err := n.Listen(netip.AddrPort{})
	if err != nil {
		t.Fatalf("Listen after freeing a port: %v", err)
	}
	defer tr.Close()
	if tr.LocalAddr() != conns[100].LocalAddr() {
		t.Fatalf("got %v, want the only free port %v", tr.LocalAddr(), conns[100].LocalAddr())
	}
}

func TestConcurrentUse(t *testing.T) {
	n := NewNetwork()
	srv := listen(t, n, "127.0.0.1:0")
	const clients, each = 8, 50
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			c, err := n.Listen(netip.AddrPort{})
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for i := range each {
				if _, err := c.WriteTo([]byte{byte(i)}, srv.LocalAddr()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for range clients * each {
		read(t, srv, 10)
	}
}

// TestNetwork runs the conformance suite every transport passes.
func TestNetwork(t *testing.T) { transporttest.TestNetwork(t, NewNetwork()) }
