package udp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/udpchat/udpchat/core"
)

var _ core.BatchTransport = (*Conn)(nil)

// batcher is what ipv4.PacketConn and ipv6.PacketConn have in common: their
// Message is the same type.
type batcher interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func newBatcher(pc *net.UDPConn, local netip.AddrPort) batcher {
	if local.Addr().Is4() {
		return ipv4.NewPacketConn(pc)
	}
	return ipv6.NewPacketConn(pc)
}

// messages holds the reusable message headers of one batch call; calls may
// run concurrently, so each takes its own from a pool.
type messages struct {
	ms   []ipv4.Message
	bufs [][1][]byte
}

var messagePool = sync.Pool{New: func() any { return new(messages) }}

func getMessages(n int) *messages {
	m := messagePool.Get().(*messages)
	if cap(m.ms) < n {
		m.ms = make([]ipv4.Message, n)
		m.bufs = make([][1][]byte, n)
	}
	m.ms, m.bufs = m.ms[:n], m.bufs[:n]
	for i := range m.ms {
		m.ms[i].Buffers = m.bufs[i][:]
	}
	return m
}

func (m *messages) put() {
	for i := range m.ms {
		m.bufs[i][0] = nil
		m.ms[i] = ipv4.Message{}
	}
	messagePool.Put(m)
}

// ReadBatch reads up to len(dgs) datagrams in one system call where the
// platform has one. Senders' addresses are unmapped, as in ReadFrom, and
// ICMP errors are reported as ReadFrom reports them.
func (c *Conn) ReadBatch(dgs []core.Datagram) (int, error) {
	if report := c.taken(); report != nil {
		return 0, report
	}
	m := getMessages(len(dgs))
	defer m.put()
	for i := range dgs {
		m.bufs[i][0] = dgs[i].B[:cap(dgs[i].B)]
	}
	n, err := c.batch.ReadBatch(m.ms, 0)
	if err != nil {
		if report := c.unreachable(); report != nil {
			return 0, report
		}
		return 0, fmt.Errorf("transport/udp: %w", err)
	}
	for i := range n {
		dgs[i].B = dgs[i].B[:m.ms[i].N]
		if ua, ok := m.ms[i].Addr.(*net.UDPAddr); ok {
			dgs[i].Addr = unmap(ua.AddrPort())
		} else {
			dgs[i].Addr = netip.AddrPort{}
		}
	}
	return n, nil
}

// WriteBatch sends dgs in as few system calls as the platform allows. A
// datagram too large for UDP fails with an error matching core.ErrTooLong,
// as in WriteTo; the ones before it are sent, though not every kernel counts
// them in the result. On Linux, calls from several goroutines on a socket
// that does not report ICMP errors run in parallel (sendmmsg_linux.go).
func (c *Conn) WriteBatch(dgs []core.Datagram) (int, error) {
	done := c.writeRaw(dgs) // in parallel with other writers (sendmmsg_linux.go)
	if done == len(dgs) {
		return done, nil
	}
	sent, err := c.writeLocked(dgs[done:])
	return done + sent, err
}

// writeLocked is WriteBatch the way Go writes to a socket: one writer at a
// time, waiting for room in the send buffer, with every error reported.
func (c *Conn) writeLocked(dgs []core.Datagram) (int, error) {
	m := getMessages(len(dgs))
	defer m.put()
	for i, d := range dgs {
		m.bufs[i][0] = d.B
		m.ms[i].Addr = c.udpAddr(d.Addr)
	}
	sent, retried := 0, false
	for sent < len(dgs) {
		n, err := c.batch.WriteBatch(m.ms[sent:], 0)
		sent += n
		if err != nil && !retried && c.takeReports() {
			retried = true // the error was an earlier datagram's ICMP error
			continue
		}
		if err != nil {
			if errors.Is(err, syscall.EMSGSIZE) {
				return sent, fmt.Errorf("transport/udp: %w: %w", core.ErrTooLong, err)
			}
			return sent, fmt.Errorf("transport/udp: %w", err)
		}
		if n == 0 {
			return sent, errors.New("transport/udp: write batch: nothing sent")
		}
	}
	return sent, nil
}

// maxAddrs bounds the cache of destination addresses: peers control how
// many there are.
const maxAddrs = 4096

// udpAddr returns a *net.UDPAddr for a, from a cache: the batch calls take
// net.Addr, and making one per datagram would cost two allocations each.
func (c *Conn) udpAddr(a netip.AddrPort) *net.UDPAddr {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
	if ua, ok := c.addrs[a]; ok {
		return ua
	}
	if len(c.addrs) >= maxAddrs {
		clear(c.addrs)
	}
	if c.addrs == nil {
		c.addrs = make(map[netip.AddrPort]*net.UDPAddr)
	}
	ua := net.UDPAddrFromAddrPort(a)
	c.addrs[a] = ua
	return ua
}
