// Package memory is an in-process datagram network, so the engines can be
// tested without sockets: deterministic, fast, and free of port clashes and
// firewall surprises. It behaves like UDP where the engines could tell the
// difference: datagrams keep their boundaries, a full receive queue drops what
// does not fit, and a datagram sent to an address nobody has bound vanishes
// without an error.
//
// A Network is not registered in core.Transports: the server and the client of
// a test must share one Network, so the test creates it with NewNetwork and
// hands it to both.
package memory

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/udpchat/udpchat/core"
)

// MaxDatagram is the largest payload WriteTo accepts, the same limit as UDP
// over IPv4, so that a message that fits in memory also fits on the wire.
const MaxDatagram = 65507

// QueueLen is how many datagrams an endpoint holds before it drops new ones,
// the counterpart of a socket's receive buffer.
const QueueLen = 1024

// Ports handed out for port 0 come from the IANA dynamic range, as a kernel's
// would, so they look like real ephemeral ports in logs.
const (
	firstEphemeral = 49152
	lastEphemeral  = 65535
)

// defaultAddr replaces an unspecified bind address, which has no meaning on a
// network with no interfaces.
var defaultAddr = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// Network is one in-process network: endpoints bound on it reach each other,
// and nothing else. It is safe for concurrent use and starts no goroutines.
type Network struct {
	mu    sync.RWMutex
	conns map[netip.AddrPort]*Conn
	next  uint16 // the next ephemeral port to try
}

var _ core.Network = (*Network)(nil)

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{conns: make(map[netip.AddrPort]*Conn), next: firstEphemeral}
}

// Listen binds an endpoint to local. Port 0 picks a free port, and an
// unspecified or zero address becomes 127.0.0.1. Binding an address that is
// already bound fails with an error matching syscall.EADDRINUSE, as a socket
// would; the address is free again once its endpoint is closed.
func (n *Network) Listen(local netip.AddrPort) (core.Transport, error) {
	addr := local.Addr().Unmap()
	if !addr.IsValid() || addr.IsUnspecified() {
		addr = defaultAddr
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	bind := netip.AddrPortFrom(addr, local.Port())
	if local.Port() == 0 {
		port, ok := n.freePort(addr)
		if !ok {
			return nil, fmt.Errorf("transport/memory: listen %s: no free port", netip.AddrPortFrom(addr, 0))
		}
		bind = netip.AddrPortFrom(addr, port)
	} else if _, taken := n.conns[bind]; taken {
		return nil, fmt.Errorf("transport/memory: listen %s: %w", bind, syscall.EADDRINUSE)
	}
	c := &Conn{
		network: n,
		local:   bind,
		ready:   make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	n.conns[bind] = c
	return c, nil
}

// freePort returns an unbound port on addr. Ports are handed out round-robin
// rather than lowest-first, so a port just released is not reused at once and
// a late datagram for a closed endpoint does not reach its successor. n.mu
// must be held.
func (n *Network) freePort(addr netip.Addr) (uint16, bool) {
	for range lastEphemeral - firstEphemeral + 1 {
		port := n.next
		if n.next == lastEphemeral {
			n.next = firstEphemeral
		} else {
			n.next++
		}
		if _, taken := n.conns[netip.AddrPortFrom(addr, port)]; !taken {
			return port, true
		}
	}
	return 0, false
}

func (n *Network) lookup(addr netip.AddrPort) *Conn {
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.conns[addr]
}

func (n *Network) unbind(c *Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns[c.local] == c {
		delete(n.conns, c.local)
	}
}

type datagram struct {
	data []byte
	from netip.AddrPort
}

// Conn is an endpoint bound on a Network. It is safe for concurrent use.
type Conn struct {
	network *Network
	local   netip.AddrPort

	// The queue is a slice rather than a buffered channel so that an idle
	// endpoint costs nothing: tests bind thousands of them.
	mu     sync.Mutex
	queue  []datagram
	closed bool
	ready  chan struct{} // holds a token while the queue may be non-empty
	done   chan struct{} // closed by Close
}

var _ core.Transport = (*Conn)(nil)

// ReadFrom blocks until a datagram arrives or the endpoint is closed, then
// copies it into p. A datagram longer than p is truncated to len(p), as with
// UDP. After Close the error matches net.ErrClosed.
func (c *Conn) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	for {
		d, ok, err := c.pop()
		if err != nil {
			return 0, netip.AddrPort{}, err
		}
		if ok {
			return copy(p, d.data), d.from, nil
		}
		select {
		case <-c.ready:
		case <-c.done:
		}
	}
}

func (c *Conn) pop() (datagram, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return datagram{}, false, c.closedErr("read")
	}
	if len(c.queue) == 0 {
		return datagram{}, false, nil
	}
	d := c.queue[0]
	c.queue[0] = datagram{} // let the payload be collected
	c.queue = c.queue[1:]
	if len(c.queue) > 0 {
		// There is only one token; pass it on to the next waiting reader.
		c.signal()
	}
	return d, true, nil
}

// push queues d unless the queue is full or the endpoint closed, in which
// case d is lost, as a socket loses what its buffer cannot hold.
func (c *Conn) push(d datagram) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.queue) >= QueueLen {
		return
	}
	c.queue = append(c.queue, d)
	c.signal()
}

// signal leaves a wake-up token for ReadFrom. c.mu must be held.
func (c *Conn) signal() {
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

// WriteTo delivers a copy of p to the endpoint bound to addr. Like UDP it
// reports success when nobody is bound there or the receiver's queue is full:
// the datagram is simply lost. Only a datagram over MaxDatagram bytes (an error
// matching core.ErrTooLong) or a closed sender fail.
func (c *Conn) WriteTo(p []byte, addr netip.AddrPort) (int, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, fmt.Errorf("transport/memory: write to %s: %w", addr, net.ErrClosed)
	}
	if len(p) > MaxDatagram {
		return 0, fmt.Errorf("transport/memory: write to %s: %w: %d bytes, at most %d fit in a datagram",
			addr, core.ErrTooLong, len(p), MaxDatagram)
	}
	if dst := c.network.lookup(addr); dst != nil {
		// The copy is what makes this a network: the caller may reuse p at once.
		dst.push(datagram{data: append([]byte(nil), p...), from: c.local})
	}
	return len(p), nil
}

// LocalAddr returns the address the endpoint is bound to, with the port chosen
// when Listen was given port 0.
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// Close unbinds the endpoint, discards its queue and unblocks ReadFrom.
// Closing twice returns an error matching net.ErrClosed, as a socket does.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.closedErr("close")
	}
	c.closed = true
	c.queue = nil
	close(c.done)
	c.mu.Unlock()
	c.network.unbind(c)
	return nil
}

func (c *Conn) closedErr(op string) error {
	return fmt.Errorf("transport/memory: %s %s: %w", op, c.local, net.ErrClosed)
}
