package udp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// reportUnreachable sets IP_RECVERR: the kernel then queues every ICMP
// error a datagram draws, with where the datagram went, on the socket's
// error queue, and fails the next read or send to say so. A dual-stack
// socket sets it for both families: its IPv4 peers' errors are ICMPv4.
func (c *Conn) reportUnreachable() error {
	rc, err := c.pc.SyscallConn()
	if err != nil {
		return fmt.Errorf("transport/udp: %w", err)
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if c.local.Addr().Is4() {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_RECVERR, 1)
			return
		}
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_RECVERR, 1); serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_RECVERR, 1)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("transport/udp: IP_RECVERR: %w", err)
	}
	c.reports.on.Store(true)
	return nil
}

// queuedError takes ICMP errors off the socket's error queue until one
// names an address, and returns its report; nil once the queue is empty.
// It never waits, and takes no read lock: a read may be blocked meanwhile.
func (c *Conn) queuedError() error {
	rc, err := c.pc.SyscallConn()
	if err != nil {
		return nil
	}
	var report error
	var quoted [64]byte // the start of the datagram the error is about: not needed
	var oob [256]byte
	rc.Control(func(fd uintptr) {
		for report == nil {
			_, oobn, _, to, err := unix.Recvmsg(int(fd), quoted[:], oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return // EAGAIN: the queue is empty
			}
			report = c.icmpReport(oob[:oobn], to)
		}
	})
	return report
}

// sizeofSockExtendedErr is the size of struct sock_extended_err
// (linux/errqueue.h): ee_errno, four bytes of origin, type, code and pad,
// ee_info, ee_data.
const sizeofSockExtendedErr = 16

// icmpReport reads the extended error of one message of the error queue
// (struct sock_extended_err, in IP_RECVERR or IPV6_RECVERR) sent to to,
// or returns nil if it is no ICMP error.
func (c *Conn) icmpReport(oob []byte, to unix.Sockaddr) error {
	var dst netip.AddrPort
	switch sa := to.(type) {
	case *unix.SockaddrInet4:
		dst = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		dst = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	default:
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	for _, m := range msgs {
		recverr := m.Header.Level == unix.SOL_IP && m.Header.Type == unix.IP_RECVERR ||
			m.Header.Level == unix.SOL_IPV6 && m.Header.Type == unix.IPV6_RECVERR
		if !recverr || len(m.Data) < sizeofSockExtendedErr {
			continue
		}
		errno, origin := unix.Errno(binary.NativeEndian.Uint32(m.Data)), m.Data[4]
		if origin != unix.SO_EE_ORIGIN_ICMP && origin != unix.SO_EE_ORIGIN_ICMP6 || errno == 0 {
			continue
		}
		return fmt.Errorf("transport/udp: %w", c.reportFor(dst, os.NewSyscallError("icmp", errno)))
	}
	return nil
}
