package server_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/reliability/window"
	"github.com/udpchat/udpchat/transport/fault"
)

// TestDeliveryUnderLoss: over real UDP with 20% loss, 5% duplication and
// 5% reordering each way on both clients' paths, and few retries (2): a
// version 2 sender does not give up on a line while the server answers, so
// every line is acknowledged, and reaches the receiver once and in order.
// No session ends: the sender's and the receiver's are their first, and
// the server saw two handshakes in all.
func TestDeliveryUnderLoss(t *testing.T) {
	for _, layer := range []core.Reliability{stopwait.Layer{}, window.Layer{}} {
		t.Run(layer.Name(), func(t *testing.T) {
			faults := fault.Faults{Loss: 0.2, Duplicate: 0.05, Reorder: 0.05}
			room := chattest.Start(t, chattest.Options{
				Layer:       layer,
				Faults:      &fault.Config{Seed: 3, Send: faults, Receive: faults},
				Reliability: core.ReliabilityConfig{RTO: 50 * time.Millisecond, MaxRetries: 2},
				Server:      noRateLimit,
				Client:      func(cfg *client.Config) { cfg.Reconnect = true },
			})
			ann, ben := room.JoinWith(nick("ann")), room.JoinWith(nick("ben"))
			annSession, benSession := ann.Info().Session, ben.Info().Session
			const n = 200
			for i := range n {
				id := ann.Say(strconv.Itoa(i))
				if ok, reason, _ := ann.WaitVerdict(id); !ok {
					t.Fatalf("line %d not delivered: %s", i, reason)
				}
			}
			last := strconv.Itoa(n - 1)
			ben.WaitMessage("the last line", func(m core.Message) bool { return m.Text == last })
			chat := ben.Chat()
			if len(chat) != n {
				t.Fatalf("ben was shown %d lines, want %d", len(chat), n)
			}
			for i, m := range chat {
				if m.Text != strconv.Itoa(i) || m.From != "ann" {
					t.Fatalf("ben's line %d is %q from %s: lost, twice or out of order", i, m.Text, m.From)
				}
			}
			if ann.Info().Session != annSession || ben.Info().Session != benSession {
				t.Fatal("a session changed")
			}
			if hs := room.Server.Stats().Handshake; hs != 2 {
				t.Fatalf("the server saw %d handshakes, want 2: a client started a new session", hs)
			}
		})
	}
}
