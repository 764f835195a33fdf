package server_test

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
)

// muted is a client's transport that can stop sending: a client that
// still hears the room but whose ACKs (and everything else) no longer
// reach the server, as behind a broken uplink.
type muted struct {
	core.Transport
	off *atomic.Bool
}

// WriteTo drops p once the transport is muted.
func (m muted) WriteTo(p []byte, addr netip.AddrPort) (int, error) {
	if m.off.Load() {
		return len(p), nil
	}
	return m.Transport.WriteTo(p, addr)
}

// stallBudget is the most the room waits for its far-behind recipients, per
// message, all of them together (server/fanout.go's stallMax).
const stallBudget = 100 * time.Millisecond

// TestSilentRecipientsShareOneHold: 60 recipients stop acknowledging at
// once, all equally behind. The room waits for them, but one budget per
// message, not one per recipient: a burst of N messages is acknowledged to
// its sender within N budgets (and some slack), not N×60, and an honest
// recipient gets every message, in order.
func TestSilentRecipientsShareOneHold(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		noRateLimit(cfg)
		cfg.RecipientQueue = 8 // the room waits for a recipient 2 behind
	}})
	const silent, n = 60, 20
	var off atomic.Bool
	var quiet []*chattest.Client
	for i := range silent {
		quiet = append(quiet, room.JoinWith(func(cfg *client.Config) {
			cfg.Nick = fmt.Sprintf("quiet%d", i)
			cfg.Transport = muted{cfg.Transport, &off}
		}))
	}
	alice, bob := room.Join(), room.Join()
	// Everyone is caught up: the last join reached every silent one, and
	// its ACK reached the server.
	for _, q := range quiet {
		q.WaitMessage("bob's join", func(m core.Message) bool { return m.Text == bob.Name()+" joined" })
	}
	alice.WaitMessage("bob's join", func(m core.Message) bool { return m.Text == bob.Name()+" joined" })
	off.Store(true)

	start := time.Now()
	var ids []uint64
	for i := range n {
		ids = append(ids, alice.Say(fmt.Sprint(i)))
	}
	alice.WaitDelivered(ids...)
	took := time.Since(start)
	bound := n*stallBudget + time.Second
	t.Logf("%d messages past %d silent recipients acknowledged in %v (bound %v)", n, silent, took, bound)
	if took > bound {
		t.Errorf("a burst of %d took %v to be acknowledged, over %v: the hold is per recipient, not per message", n, took, bound)
	}
	for i, m := range bob.WaitChat(n) {
		if m.Text != fmt.Sprint(i) {
			t.Fatalf("bob's message %d is %q", i, m.Text)
		}
	}
}
