package core

import "net/netip"

// Transport carries datagrams: a UDP socket, an in-memory network for tests, or
// a wrapper that loses, duplicates, reorders or delays them on purpose.
type Transport interface {
	// ReadFrom reads one datagram into p. After Close it returns an error
	// matching net.ErrClosed.
	ReadFrom(p []byte) (n int, from netip.AddrPort, err error)
	// WriteTo sends p as one datagram to addr.
	WriteTo(p []byte, addr netip.AddrPort) (int, error)
	// LocalAddr is the address the transport is bound to.
	LocalAddr() netip.AddrPort
	// Close unblocks ReadFrom and releases the transport.
	Close() error
}

// Network opens a Transport bound to a local address ("127.0.0.1:0" for any
// port). It is what the registry holds for each transport name.
type Network interface {
	Listen(local netip.AddrPort) (Transport, error)
}

// Transports maps transport names to implementations ("udp").
var Transports = NewRegistry[Network]("transport")

// Datagram is one datagram of a batch: its bytes and the address it goes to
// or came from.
type Datagram struct {
	B    []byte
	Addr netip.AddrPort
}

// BatchTransport is a Transport that moves many datagrams per system call
// (recvmmsg and sendmmsg on Linux). A server fanning a message out to a
// room, or reading a burst of ACKs, uses it where the transport has it:
// the system call, not the datagram, is most of the cost on a fast path.
type BatchTransport interface {
	Transport
	// ReadBatch reads up to len(dgs) datagrams, blocking until there is at
	// least one: each into dgs[i].B, which it reslices to the datagram's
	// length, with its sender in dgs[i].Addr. It returns how many it read.
	ReadBatch(dgs []Datagram) (int, error)
	// WriteBatch sends dgs, each to its Addr, and returns how many were
	// sent: all of them unless err is set, when it is at most that many.
	WriteBatch(dgs []Datagram) (int, error)
}
