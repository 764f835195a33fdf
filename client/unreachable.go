package client

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
)

// UnreachableReporter is an optional capability of a core.Transport: one
// that can report the ICMP errors its datagrams draw (transport/udp, on
// Linux). The client turns it on as it starts. From then on each report is
// an error from ReadFrom that matches the errno the system gave it
// (syscall.ECONNREFUSED for port unreachable, EHOSTUNREACH, ENETUNREACH)
// and holds a *net.OpError whose Addr is where the datagram went.
//
// A report is a hint about one path, and whoever can send the client an
// ICMP message can forge one: it ends at once a handshake with the address
// it names, which silence would end later anyway, and nothing else. An
// established session only logs it: its keepalives say whether the server
// is there.
type UnreachableReporter interface {
	ReportUnreachable() error
}

// icmpQueue bounds the reports waiting for the engine: hints, which the
// read loop drops rather than wait.
const icmpQueue = 4

// icmpReport is an ICMP error the transport reported: a datagram to to
// drew err.
type icmpReport struct {
	to  netip.AddrPort
	err syscall.Errno
}

// reportUnreachable asks the transport for reports of ICMP errors, where
// it has them.
func (c *Client) reportUnreachable() {
	r, ok := c.cfg.Transport.(UnreachableReporter)
	if !ok {
		return
	}
	if err := r.ReportUnreachable(); err != nil {
		c.log.Debug("no reports of ICMP errors: a server that is not there shows only by its silence", "err", err)
	}
}

// asICMPReport tells a transport's report of an ICMP error from any other
// error of a read.
func asICMPReport(err error) (icmpReport, bool) {
	var op *net.OpError
	var errno syscall.Errno
	if !errors.As(err, &op) || !errors.As(err, &errno) {
		return icmpReport{}, false
	}
	ua, ok := op.Addr.(*net.UDPAddr)
	if !ok {
		return icmpReport{}, false
	}
	switch errno {
	case syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH:
	default:
		return icmpReport{}, false
	}
	to := ua.AddrPort()
	return icmpReport{to: netip.AddrPortFrom(to.Addr().Unmap(), to.Port()), err: errno}, true
}

// unreachable handles a report of an ICMP error: a handshake with the
// address it names fails at once; anything else only logs it, since
// anyone can forge one.
func (c *Client) unreachable(ctx context.Context, r icmpReport) error {
	if !c.handshaking() || c.hsTries == 0 || r.to != c.server() {
		c.drop(r.to, "ICMP error outside a handshake with its address: a hint, ignored", r.err)
		return nil
	}
	return c.handshakeFailed(ctx, c.unreachableVerdict(r))
}
