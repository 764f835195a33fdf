package server_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
)

// TestHandshakeFlood: 50,000 KEY_REQs from 200 source ports on 127.0.0.1,
// while 10 clients chat. The clients' messages all arrive, the session caps
// hold, and the flood makes a bounded number of sessions. Bounded in count,
// loopback only.
func TestHandshakeFlood(t *testing.T) {
	const maxSessions = 64
	room := chattest.Start(t, chattest.Options{
		Server: func(cfg *server.Config) {
			cfg.MaxSessions, cfg.HandshakeLimit.Burst = maxSessions, 20
			noRateLimit(cfg)
		},
		// The flood overflows the server's socket buffer, and the kernel
		// drops real datagrams with the rest: the clients need the patience
		// of a lossy network.
		Reliability: core.ReliabilityConfig{RTO: 200 * time.Millisecond, MaxRetries: 100},
	})
	var clients []*chattest.Client
	for i := range 10 {
		clients = append(clients, room.JoinWith(nick(fmt.Sprintf("real%d", i))))
	}
	startedBefore := room.Server.Stats().Handshake

	first := room.Raw()
	hello, _ := first.Hello(chattest.Keys.Key(0))
	hello.Version, hello.Nick, hello.Suites = 2, "flood", []string{seed.Name}
	datagram, err := first.Codec.Append(nil, hello)
	if err != nil {
		t.Fatal(err)
	}
	var flood sync.WaitGroup
	for range 200 {
		f := room.Raw()
		flood.Go(func() {
			for range 250 {
				if f.TrySend(datagram) != nil {
					return // the test is over
				}
			}
		})
	}
	var ids [10][]uint64
	for i, c := range clients {
		for j := range 5 {
			ids[i] = append(ids[i], c.Say(fmt.Sprintf("%s says %d", c.Name(), j)))
		}
	}
	flood.Wait()
	for i, c := range clients {
		c.WaitDelivered(ids[i]...)
	}
	for _, c := range clients {
		c.WaitChat(9 * 5) // everyone else's
	}

	st := room.Server.Stats()
	started := st.Handshake - startedBefore
	t.Logf("flood: %d datagrams received, %d dropped, %d sessions started by it; %d sessions now; %s",
		st.Received, st.Dropped, started, st.Sessions, peakRSS())
	if st.Sessions > maxSessions {
		t.Fatalf("%d sessions, over the cap of %d", st.Sessions, maxSessions)
	}
	// One source address: its burst, and what its rate allows in a few
	// seconds at most.
	if started > 60 {
		t.Fatalf("the flood started %d sessions from one address", started)
	}
}

// peakRSS is the test process's peak resident memory, where Linux says it.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "peak RSS unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return "peak RSS " + strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "peak RSS unknown"
}
