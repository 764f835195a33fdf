package testkit

import (
	"net"
	"testing"
)

// FreeTCPPort returns a TCP port of 127.0.0.1 that nothing listened on a
// moment ago: a NATS route address, which the other nodes of a cluster
// must know before it starts.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
