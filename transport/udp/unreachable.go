package udp

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// reports are the ICMP errors a socket that reports them (ReportUnreachable)
// holds for ReadFrom: those a write took off the kernel's error queue.
type reports struct {
	on atomic.Bool

	mu    sync.Mutex
	taken []error
}

// maxTaken bounds the reports a Conn holds for ReadFrom: anyone can send
// the socket ICMP errors, and each is only a hint.
const maxTaken = 16

// ReportUnreachable makes the socket report the ICMP errors its datagrams
// draw (port, host or network unreachable): ReadFrom then returns, for
// each, an error that matches the errno the system gave it
// (syscall.ECONNREFUSED for port unreachable) and holds a *net.OpError
// whose Addr is where the datagram went. A client turns it on to learn at
// once that nothing listens at its server's address; a server leaves it
// off. Anyone who can send the socket an ICMP message can forge a report:
// it is a hint about one path, never proof.
//
// It is Linux's IP_RECVERR: elsewhere it returns an error matching
// errors.ErrUnsupported and changes nothing. The kernel then also fails
// the next send with an ICMP error not yet read; WriteTo and WriteBatch
// take it off the error queue, keep it for ReadFrom, and send again.
func (c *Conn) ReportUnreachable() error { return c.reportUnreachable() }

// unreachable is the next ICMP error the socket reports, or nil: one a
// write took, else one from the kernel's error queue. ReadFrom and
// ReadBatch ask after a failed read, which is how the kernel signals one.
func (c *Conn) unreachable() error {
	if !c.reports.on.Load() {
		return nil
	}
	if err := c.taken(); err != nil {
		return err
	}
	return c.queuedError()
}

// taken is the oldest report a write took off the error queue, or nil. A
// read blocked when the write took it sees it only on its next call: the
// kernel has nothing left to wake it with.
func (c *Conn) taken() error {
	if !c.reports.on.Load() {
		return nil
	}
	c.reports.mu.Lock()
	defer c.reports.mu.Unlock()
	if len(c.reports.taken) == 0 {
		return nil
	}
	err := c.reports.taken[0]
	c.reports.taken = c.reports.taken[1:]
	return err
}

// takeReports empties the kernel's error queue into the reports ReadFrom
// returns, and says whether there were any: a send that failed with one
// failed for an earlier datagram's ICMP error, not its own.
func (c *Conn) takeReports() bool {
	if !c.reports.on.Load() {
		return false
	}
	took := false
	for {
		err := c.queuedError()
		if err == nil {
			return took
		}
		took = true
		c.reports.mu.Lock()
		if len(c.reports.taken) >= maxTaken {
			c.reports.taken = c.reports.taken[1:]
		}
		c.reports.taken = append(c.reports.taken, err)
		c.reports.mu.Unlock()
	}
}

// reportFor is the report of an ICMP error errno that a datagram to dst
// drew, in the form a connected socket's read would give it.
func (c *Conn) reportFor(dst netip.AddrPort, errno error) error {
	return &net.OpError{Op: "read", Net: "udp", Source: net.UDPAddrFromAddrPort(c.local),
		Addr: net.UDPAddrFromAddrPort(unmap(dst)), Err: errno}
}
