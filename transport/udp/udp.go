// Package udp is the default transport: a UDP socket behind core.Transport.
//
// It registers itself in core.Transports as "udp", so importing it for its side
// effect is enough to make the name usable in configuration:
//
//	import _ "github.com/udpchat/udpchat/transport/udp"
package udp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/udpchat/udpchat/core"
)

// Name is the name the transport is registered under in core.Transports.
const Name = "udp"

// socketBuffer is the receive and send buffer asked of the kernel. A chat
// server fans one message out to every member at once; the default buffers
// (about 200 KiB on Linux) overflow under such bursts and the kernel then drops
// datagrams silently. The kernel may grant less (net.core.rmem_max), which is
// still no worse than the default.
const socketBuffer = 4 << 20

func init() {
	core.Transports.Register(Name, Network{})
}

// Network opens UDP sockets. Its zero value is ready to use.
type Network struct{}

var _ core.Network = Network{}

// Listen binds a UDP socket to local. Port 0 picks a free port; the unspecified
// address (0.0.0.0 or ::) listens on every interface, and an invalid (zero)
// netip.AddrPort means the same as 0.0.0.0:0.
func (Network) Listen(local netip.AddrPort) (core.Transport, error) {
	// A 4-in-6 local address would make Go open an IPv6 socket for what is
	// meant as an IPv4 bind.
	if local.Addr().Is4In6() {
		local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	}
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(local))
	if err != nil {
		// The *net.OpError already reads "listen udp 127.0.0.1:0: ...".
		return nil, fmt.Errorf("transport/udp: %w", err)
	}
	return newConn(pc), nil
}

// Listen binds a UDP socket to addr, given as "host:port"; a host name is
// resolved first. It is Network{}.Listen for callers holding a string.
func Listen(addr string) (core.Transport, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("transport/udp: listen %s: %w", addr, err)
	}
	return Network{}.Listen(ua.AddrPort())
}

// Conn is a bound UDP socket. It is safe for concurrent use: one goroutine may
// read while others write.
type Conn struct {
	pc    *net.UDPConn
	local netip.AddrPort
	batch batcher

	addrMu sync.Mutex
	addrs  map[netip.AddrPort]*net.UDPAddr // for WriteBatch

	reports reports    // ICMP errors, once ReportUnreachable turned them on
	raw     rawWriters // writes outside Go's lock (sendmmsg_linux.go)
}

var _ core.Transport = (*Conn)(nil)

func newConn(pc *net.UDPConn) *Conn {
	// Errors are ignored on purpose: a smaller buffer than asked for is not a
	// reason to refuse to run.
	_ = pc.SetReadBuffer(socketBuffer)
	_ = pc.SetWriteBuffer(socketBuffer)
	var local netip.AddrPort
	if ua, ok := pc.LocalAddr().(*net.UDPAddr); ok {
		local = unmap(ua.AddrPort())
	}
	return &Conn{pc: pc, local: local, batch: newBatcher(pc, local)}
}

// ReadFrom reads one datagram into p. A datagram longer than p is truncated to
// len(p), as with any UDP socket. The sender's address is never 4-in-6: a
// dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d, and unmapping keeps
// one peer under one key in the engines' session tables. After Close the error
// matches net.ErrClosed. A socket that reports ICMP errors
// (ReportUnreachable) returns them here, one a call.
func (c *Conn) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	if report := c.taken(); report != nil {
		return 0, netip.AddrPort{}, report
	}
	n, from, err := c.pc.ReadFromUDPAddrPort(p)
	if err != nil {
		if report := c.unreachable(); report != nil {
			return 0, netip.AddrPort{}, report
		}
		return n, netip.AddrPort{}, fmt.Errorf("transport/udp: %w", err)
	}
	return n, unmap(from), nil
}

// WriteTo sends p as one datagram to addr. A datagram too large for UDP fails
// with an error matching core.ErrTooLong (and syscall.EMSGSIZE), so callers can
// tell it from a network failure without knowing the transport.
func (c *Conn) WriteTo(p []byte, addr netip.AddrPort) (int, error) {
	if one := [1]core.Datagram{{B: p, Addr: addr}}; c.writeRaw(one[:]) == 1 {
		return len(p), nil // not behind another writer's batch (sendmmsg_linux.go)
	}
	n, err := c.pc.WriteToUDPAddrPort(p, addr)
	if err != nil && c.takeReports() {
		n, err = c.pc.WriteToUDPAddrPort(p, addr) // the error was an earlier datagram's
	}
	if err != nil {
		if errors.Is(err, syscall.EMSGSIZE) {
			return n, fmt.Errorf("transport/udp: %w: %w", core.ErrTooLong, err)
		}
		return n, fmt.Errorf("transport/udp: %w", err)
	}
	return n, nil
}

// LocalAddr returns the address the socket is bound to, with the port the
// kernel chose when Listen was given port 0.
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// Close closes the socket and unblocks a pending ReadFrom. Closing twice
// returns an error matching net.ErrClosed.
func (c *Conn) Close() error {
	if err := c.pc.Close(); err != nil {
		return fmt.Errorf("transport/udp: %w", err)
	}
	return nil
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	if !ap.Addr().Is4In6() {
		return ap
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
