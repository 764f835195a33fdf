package udp

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// deadAddr is a port of 127.0.0.1 where nothing listens: bound a moment
// ago, and closed.
func deadAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	c := listen(t)
	addr := c.LocalAddr()
	c.Close()
	return addr
}

// reporting is a socket that reports ICMP errors.
func reporting(t *testing.T) *Conn {
	t.Helper()
	c := listen(t)
	if err := c.ReportUnreachable(); err != nil {
		t.Fatalf("ReportUnreachable: %v", err)
	}
	return c
}

// wantReport fails the test unless err reports an ICMP port unreachable
// for a datagram to dst.
func wantReport(t *testing.T, err error, dst netip.AddrPort) {
	t.Helper()
	var op *net.OpError
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &op) {
		t.Fatalf("got %v, want a report of ICMP port unreachable", err)
	}
	if ua, ok := op.Addr.(*net.UDPAddr); !ok || ua.AddrPort() != dst {
		t.Fatalf("the report %v names %v, want %v", err, op.Addr, dst)
	}
}

// TestReportUnreachable: a datagram to a port where nothing listens draws
// an ICMP port unreachable, which a socket told to reports from ReadFrom,
// naming where the datagram went; the next datagram is read as ever.
func TestReportUnreachable(t *testing.T) {
	c, peer, dead := reporting(t), listen(t), deadAddr(t)
	if _, err := c.WriteTo([]byte("anyone?"), dead); err != nil {
		t.Fatalf("WriteTo(%v): %v", dead, err)
	}
	if err := c.pc.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.ReadFrom(make([]byte, 64))
	wantReport(t, err, dead)

	if _, err := peer.WriteTo([]byte("here"), c.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if got, from := read(t, c, 64); string(got) != "here" || from != peer.LocalAddr() {
		t.Fatalf("read %q from %v after the report; want %q from %v", got, from, "here", peer.LocalAddr())
	}
}

// TestUnreadReportSparesTheNextSend: the kernel fails the next send with
// an ICMP error not yet read; the transport keeps the error for ReadFrom
// and sends the datagram, which arrives.
func TestUnreadReportSparesTheNextSend(t *testing.T) {
	c, peer, dead := reporting(t), listen(t), deadAddr(t)
	if _, err := c.WriteTo([]byte("anyone?"), dead); err != nil {
		t.Fatalf("WriteTo(%v): %v", dead, err)
	}
	waitSocketError(t, c)
	if _, err := c.WriteTo([]byte("to the peer"), peer.LocalAddr()); err != nil {
		t.Fatalf("WriteTo(peer) with an ICMP error pending: %v", err)
	}
	if got, _ := read(t, peer, 64); string(got) != "to the peer" {
		t.Fatalf("the peer read %q", got)
	}
	_, _, err := c.ReadFrom(make([]byte, 64))
	wantReport(t, err, dead)
}

// TestNoReportsUnlessAsked: a socket not told to report ICMP errors (a
// server's) reads past them, as it always did.
func TestNoReportsUnlessAsked(t *testing.T) {
	c, peer, dead := listen(t), listen(t), deadAddr(t)
	if _, err := c.WriteTo([]byte("anyone?"), dead); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.WriteTo([]byte("here"), c.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if got, _ := read(t, c, 64); string(got) != "here" {
		t.Fatalf("read %q, want the peer's datagram", got)
	}
}

// waitSocketError waits until c's socket has an error pending: the ICMP
// error its last datagram drew has arrived.
func waitSocketError(t *testing.T, c *Conn) {
	t.Helper()
	rc, err := c.pc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var revents int16
	var perr error
	if err := rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd)}} // POLLERR is reported unasked
		_, perr = unix.Poll(fds, int(waitLimit/time.Millisecond))
		revents = fds[0].Revents
	}); err != nil {
		t.Fatal(err)
	}
	if perr != nil || revents&unix.POLLERR == 0 {
		t.Fatalf("no ICMP error within %v (poll: %v, revents %#x)", waitLimit, perr, revents)
	}
}
