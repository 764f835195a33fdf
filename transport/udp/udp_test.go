package udp

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/transport/transporttest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// loopback is the only address these tests bind or send to.
var loopback = netip.MustParseAddrPort("127.0.0.1:0")

// waitLimit bounds every wait, so a lost datagram fails the test instead of
// hanging it.
const waitLimit = 5 * time.Second

func listen(t *testing.T) *Conn {
	t.Helper()
	return transporttest.Listen(t, Network{}, loopback).(*Conn)
}

// read reads one datagram, failing the test if none arrives within waitLimit.
func read(t *testing.T, c *Conn, size int) ([]byte, netip.AddrPort) {
	t.Helper()
	if err := c.pc.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	buf := make([]byte, size)
	n, from, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("ReadFrom: %v", err)
	}
	return buf[:n], from
}

func TestRegistered(t *testing.T) {
	nw, err := core.Transports.Lookup(Name)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", Name, err)
	}
	if _, ok := nw.(Network); !ok {
		t.Fatalf("Lookup(%q) = %T, want udp.Network", Name, nw)
	}
}

// TestLocalAddrHasRealPort: the conformance suite's check of LocalAddr.
func TestLocalAddrHasRealPort(t *testing.T) { transporttest.TestLocalAddr(t, Network{}) }

// TestExchange: the conformance suite's exchange both ways.
func TestExchange(t *testing.T) { transporttest.TestExchange(t, Network{}) }

// TestLargeDatagramArrivesWhole: the conformance suite's datagrams of every
// size up to core.MaxDatagram.
func TestLargeDatagramArrivesWhole(t *testing.T) { transporttest.TestSizes(t, Network{}) }

func TestWriteTo4in6Destination(t *testing.T) {
	a, b := listen(t), listen(t)
	mapped := netip.AddrPortFrom(netip.AddrFrom16(b.LocalAddr().Addr().As16()), b.LocalAddr().Port())
	if !mapped.Addr().Is4In6() {
		t.Fatalf("test setup: %v is not 4-in-6", mapped)
	}
	if _, err := a.WriteTo([]byte("x"), mapped); err != nil {
		t.Fatalf("WriteTo(%v): %v", mapped, err)
	}
	if got, from := read(t, b, 16); string(got) != "x" || from != a.LocalAddr() {
		t.Fatalf("read %q from %v; want %q from %v", got, from, "x", a.LocalAddr())
	}
}

func TestUnmap(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[::ffff:127.0.0.1]:9000", "127.0.0.1:9000"},
		{"127.0.0.1:9000", "127.0.0.1:9000"},
		{"[::1]:9000", "[::1]:9000"},
	} {
		if got := unmap(netip.MustParseAddrPort(tc.in)); got.String() != tc.want {
			t.Errorf("unmap(%s) = %v, want %s", tc.in, got, tc.want)
		}
	}
}

// TestCloseUnblocksReadFrom: the conformance suite's check of Close, and a
// second Close fails with net.ErrClosed.
func TestCloseUnblocksReadFrom(t *testing.T) {
	transporttest.TestClose(t, Network{})
	c := listen(t)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v, want net.ErrClosed", err)
	}
}

func TestWriteTooLong(t *testing.T) {
	a, b := listen(t), listen(t)
	_, err := a.WriteTo(make([]byte, 70000), b.LocalAddr())
	if !errors.Is(err, core.ErrTooLong) {
		t.Fatalf("WriteTo(70000 bytes) = %v, want core.ErrTooLong", err)
	}
}

func TestListenString(t *testing.T) {
	tr, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer tr.Close()
	if la := tr.LocalAddr(); la.Addr() != loopback.Addr() || la.Port() == 0 {
		t.Fatalf("LocalAddr() = %v", la)
	}

	for _, bad := range []string{"127.0.0.1", "127.0.0.1:port", "127.0.0.1:70000"} {
		if tr, err := Listen(bad); err == nil {
			tr.Close()
			t.Errorf("Listen(%q) succeeded, want an error", bad)
		} else if !strings.HasPrefix(err.Error(), "transport/udp: listen "+bad) {
			t.Errorf("Listen(%q) error %q lacks the transport/udp: listen prefix", bad, err)
		}
	}
}

func TestListenAddressInUse(t *testing.T) {
	c := listen(t)
	tr, err := Network{}.Listen(c.LocalAddr())
	if err == nil {
		tr.Close()
		t.Fatalf("second Listen(%v) succeeded", c.LocalAddr())
	}
	if !strings.HasPrefix(err.Error(), "transport/udp: listen udp "+c.LocalAddr().String()) {
		t.Fatalf("error %q does not name the operation and address", err)
	}
}

// The read loop runs once per datagram, so it must not allocate.
func TestNoAllocationsPerDatagram(t *testing.T) {
	a, b := listen(t), listen(t)
	msg := []byte("steady state")
	buf := make([]byte, 1500)
	dst := b.LocalAddr()
	if err := b.pc.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := a.WriteTo(msg, dst); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per datagram, want 0", allocs)
	}
}

// TestNetwork runs the conformance suite every transport passes.
func TestNetwork(t *testing.T) { transporttest.TestNetwork(t, Network{}) }
