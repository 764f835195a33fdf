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
