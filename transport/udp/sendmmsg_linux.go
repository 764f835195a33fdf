package udp

import (
	"net/netip"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/udpchat/udpchat/core"
)

// Go lets one goroutine at a time write to a socket: each write holds the
// descriptor's write lock through the system call. A server sending a
// room's fan-out from several goroutines (a seed lane per core) then sends
// one batch at a time, and an ACK waits behind a whole batch of someone
// else's datagrams. The kernel needs no such turn: sendmmsg on one UDP
// socket from several threads runs in parallel. So WriteBatch and WriteTo
// call sendmmsg themselves, on the descriptor as RawConn.Control lends it
// (which keeps it open, and takes no lock), and fall back to the locked write
// only when the kernel would block (a full send buffer: the poller then
// waits for room) or fails (a datagram too long, say), and for a socket
// that reports ICMP errors.

// rawWriters are the scratch of the sendmmsg calls under way on a socket:
// a few, each taken by one call at a time, and made at its first use (a
// client's socket, which reports ICMP errors, never uses them). A call
// that finds them all taken writes the locked way.
type rawWriters struct {
	slots [rawSlots]rawScratch
}

// rawSlots is how many calls may write outside the lock at once: enough for
// a small server's seed lanes (one per core) and its handler worker's ACKs.
const rawSlots = 4

// rawMax is the most datagrams one sendmmsg is given: the server's batch.
const rawMax = 64

// rawScratch is one sendmmsg's: the headers, each datagram's one buffer
// and its destination.
type rawScratch struct {
	mu    sync.Mutex
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	addr4 []unix.RawSockaddrInet4
	addr6 []unix.RawSockaddrInet6
}

// writeRaw sends as many of dgs as sendmmsg takes, outside Go's write
// lock, and returns how many it sent: fewer than all (perhaps none) when
// the kernel would block or refused one, or no scratch was free, which the
// caller then sends the locked way, errors and all.
func (c *Conn) writeRaw(dgs []core.Datagram) int {
	if len(dgs) == 0 || c.reports.on.Load() {
		// A socket that reports ICMP errors (a client's) learns of one
		// when a send fails: the locked way takes it off the error queue
		// for the next read. A server's does not report them, and its
		// sends do not fail for them.
		return 0
	}
	for i := range c.raw.slots {
		if sc := &c.raw.slots[i]; sc.mu.TryLock() {
			sent := c.writeWith(sc, dgs)
			sc.mu.Unlock()
			return sent
		}
	}
	return 0
}

// writeWith is writeRaw with the scratch sc, which the caller holds.
func (c *Conn) writeWith(sc *rawScratch, dgs []core.Datagram) int {
	if sc.hdrs == nil {
		sc.hdrs, sc.iovs = make([]unix.Mmsghdr, rawMax), make([]unix.Iovec, rawMax)
		sc.addr4, sc.addr6 = make([]unix.RawSockaddrInet4, rawMax), make([]unix.RawSockaddrInet6, rawMax)
	}
	sent := 0
	for sent < len(dgs) {
		want := min(len(dgs)-sent, rawMax)
		n := c.sendmmsg(sc, dgs[sent:sent+want])
		sent += n
		if n < want {
			break
		}
	}
	clear(sc.iovs[:min(len(dgs), rawMax)]) // they point into the datagrams, which are the caller's
	return sent
}

// sendmmsg sends dgs, at most rawMax of them, with the scratch sc, and
// returns how many it sent.
func (c *Conn) sendmmsg(sc *rawScratch, dgs []core.Datagram) int {
	rc, err := c.pc.SyscallConn()
	if err != nil {
		return 0
	}
	n := len(dgs)
	v4 := c.local.Addr().Is4()
	for i, d := range dgs {
		if len(d.B) == 0 || !d.Addr.IsValid() || d.Addr.Addr().Zone() != "" {
			n = i // the locked way sends it, says why not, or resolves the zone's interface
			break
		}
		sc.iovs[i] = unix.Iovec{Base: &d.B[0]}
		sc.iovs[i].SetLen(len(d.B))
		sc.hdrs[i] = unix.Mmsghdr{}
		h := &sc.hdrs[i].Hdr
		h.Iov = &sc.iovs[i]
		h.SetIovlen(1)
		if v4 {
			if !d.Addr.Addr().Unmap().Is4() {
				n = i // an IPv6 peer on an IPv4 socket: the locked way says why not
				break
			}
			sc.addr4[i] = sockaddr4(d.Addr)
			h.Name, h.Namelen = (*byte)(unsafe.Pointer(&sc.addr4[i])), unix.SizeofSockaddrInet4
		} else {
			sc.addr6[i] = sockaddr6(d.Addr)
			h.Name, h.Namelen = (*byte)(unsafe.Pointer(&sc.addr6[i])), unix.SizeofSockaddrInet6
		}
	}
	sent := 0
	rc.Control(func(fd uintptr) {
		for sent < n {
			r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&sc.hdrs[sent])), uintptr(n-sent), 0, 0, 0)
			if errno == unix.EINTR {
				continue
			}
			if errno != 0 || r == 0 {
				return // EAGAIN, or an error the locked way reports
			}
			sent += int(r)
		}
	})
	return sent
}

func sockaddr4(a netip.AddrPort) unix.RawSockaddrInet4 {
	sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.Addr().Unmap().As4()}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(a.Port()>>8), byte(a.Port())
	return sa
}

func sockaddr6(a netip.AddrPort) unix.RawSockaddrInet6 {
	sa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.Addr().As16()} // an IPv4 peer as ::ffff:a.b.c.d
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(a.Port()>>8), byte(a.Port())
	return sa
}
