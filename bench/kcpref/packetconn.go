package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/core"
)

// packetConn is a core.Transport as the net.PacketConn that kcp-go takes
// (kcp.NewConn3), so that KCP runs over the same emulated link as udpchat's
// layers. It counts the datagrams written through it: KCP packs several
// segments and ACKs into one datagram, and what the link carries, and
// loses, is datagrams.
//
// kcp-go v5.7.5 calls only ReadFrom, WriteTo, LocalAddr and Close on the
// conn it is given (its deadlines are its own, kept by the session); it
// reads and writes in batches only on a *net.UDPConn, which this is not.
// The deadline methods therefore refuse, rather than pretend to work.
type packetConn struct {
	t      core.Transport
	writes atomic.Uint64
}

var _ net.PacketConn = (*packetConn)(nil)

// errNoDeadlines is what the deadline methods return.
var errNoDeadlines = fmt.Errorf("kcpref: packet conn deadlines: %w", errors.ErrUnsupported)

func newPacketConn(t core.Transport) *packetConn { return &packetConn{t: t} }

// ReadFrom implements net.PacketConn.
func (c *packetConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := c.t.ReadFrom(p)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// WriteTo implements net.PacketConn.
func (c *packetConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	to, err := addrPort(addr)
	if err != nil {
		return 0, err
	}
	c.writes.Add(1)
	return c.t.WriteTo(p, to)
}

// Writes is how many datagrams have been written.
func (c *packetConn) Writes() uint64 { return c.writes.Load() }

func addrPort(addr net.Addr) (netip.AddrPort, error) {
	if u, ok := addr.(*net.UDPAddr); ok {
		return u.AddrPort(), nil
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("kcpref: write to %s: %w", addr, err)
	}
	return ap, nil
}

// Close implements net.PacketConn: it closes the transport.
func (c *packetConn) Close() error { return c.t.Close() }

// LocalAddr implements net.PacketConn.
func (c *packetConn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.t.LocalAddr()) }

// SetDeadline implements net.PacketConn; it is not supported.
func (c *packetConn) SetDeadline(time.Time) error { return errNoDeadlines }

// SetReadDeadline implements net.PacketConn; it is not supported.
func (c *packetConn) SetReadDeadline(time.Time) error { return errNoDeadlines }

// SetWriteDeadline implements net.PacketConn; it is not supported.
func (c *packetConn) SetWriteDeadline(time.Time) error { return errNoDeadlines }
