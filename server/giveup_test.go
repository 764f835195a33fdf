package server_test

import (
	"slices"
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

// TestSenderGivesUpUnderLoss: over real UDP with 20% loss each way, a
// sender so impatient (2 retries) that it gives up on some lines and starts
// new sessions again and again, resuming each time. Every line the server
// acknowledged reaches the receiver, in order, once; the lines given up on
// may arrive too (the server had them), but nothing twice. The receiver
// stays in its first session: the server never gives up on it.
func TestSenderGivesUpUnderLoss(t *testing.T) {
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
			session := ben.Info().Session
			const n = 200
			var acked []int
			for i := range n {
				id := ann.Say(strconv.Itoa(i))
				if ok, _, _ := ann.WaitVerdict(id); ok {
					acked = append(acked, i)
				}
			}
			if len(acked) == 0 {
				t.Fatal("nothing acknowledged")
			}
			last := strconv.Itoa(acked[len(acked)-1])
			ben.WaitMessage("the last acknowledged line", func(m core.Message) bool { return m.Text == last })
			var got []int
			for _, m := range ben.Chat() {
				i, err := strconv.Atoi(m.Text)
				if err != nil || m.From != "ann" {
					t.Fatalf("ben was shown %q from %s", m.Text, m.From)
				}
				if len(got) > 0 && i <= got[len(got)-1] {
					t.Fatalf("ben was shown %d after %d: twice or out of order", i, got[len(got)-1])
				}
				got = append(got, i)
			}
			for _, i := range acked {
				if !slices.Contains(got, i) {
					t.Errorf("line %d was acknowledged and never shown to ben", i)
				}
			}
			if ben.Info().Session != session {
				t.Fatal("ben's session changed")
			}
			t.Logf("%d of %d acknowledged, %d shown, %d sessions started", len(acked), n, len(got), room.Server.Stats().Handshake)
			if room.Server.Stats().Handshake < 4 {
				t.Fatal("the sender never gave up on a line: the test tested nothing")
			}
		})
	}
}
