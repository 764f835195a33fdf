package broker

import "net"

// ClientAddr is the address the embedded server listens for clients on,
// or nil if it listens on none.
func ClientAddr(b *Broker) net.Addr { return b.srv.Addr() }
