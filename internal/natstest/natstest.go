// Package natstest starts NATS servers with JetStream inside a test, as
// the room log and the broker are tested against: in-process, quick (a few
// milliseconds), storing under a directory of the test's, and shut down
// and waited for when the test ends.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Options says how to start a server. The zero Options is a server that
// listens on no port, storing in a new temporary directory.
type Options struct {
	// Dir is the JetStream store; t.TempDir() if "".
	Dir string
	// Port, if not 0, makes the server listen for clients on 127.0.0.1:
	// -1 for a random port, or a port a stopped server had, to start it
	// again where its clients reconnect.
	Port int
}

// Start starts a JetStream server, shut down and waited for when t ends.
func Start(t testing.TB, o Options) *server.Server {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	opts := &server.Options{
		ServerName: "natstest",
		JetStream:  true,
		StoreDir:   o.Dir,
		NoLog:      true,
		NoSigs:     true,
		DontListen: o.Port == 0,
		Host:       "127.0.0.1",
		Port:       o.Port,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	s.Start()
	t.Cleanup(func() { Stop(s) })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatalf("natstest: the server is not ready after 10s")
	}
	return s
}

// Stop shuts s down and waits until it has; stopping it again does
// nothing.
func Stop(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}

// Connect connects to s in-process (or, if it listens, by its URL, so that
// the connection reconnects to a server started again on its port), closed
// when t ends.
func Connect(t testing.TB, s *server.Server) *nats.Conn {
	t.Helper()
	var nc *nats.Conn
	var err error
	if s.Addr() != nil {
		nc, err = nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	} else {
		nc, err = nats.Connect("", nats.InProcessServer(s))
	}
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}
