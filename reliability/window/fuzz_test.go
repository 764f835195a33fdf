package window_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/reliabilitytest"
	"github.com/udpchat/udpchat/reliability/window"
)

// layer is the sliding window as the shared fuzz harness sees it: the
// configured window bounds what is in flight, and what is held back too,
// but never to fewer than MinReceiveWindow; pacing holds a message for at
// most MaxPaceInterval.
var layer = reliabilitytest.Layer{
	Reliability:   window.Layer{},
	Window:        func(cfg core.ReliabilityConfig) int { return cfg.Window },
	ReceiveWindow: func(cfg core.ReliabilityConfig) int { return max(cfg.Window, window.MinReceiveWindow) },
	Pace:          window.MaxPaceInterval,
}

// FuzzSender runs programs of pushes, peer-chosen ACKs, polls and drains
// against the sender; reliabilitytest.FuzzSender lists what it checks.
func FuzzSender(f *testing.F) { reliabilitytest.FuzzSender(f, layer) }

// FuzzReceiver runs programs of arriving sequence numbers against the
// receiver; reliabilitytest.FuzzReceiver lists what it checks.
func FuzzReceiver(f *testing.F) { reliabilitytest.FuzzReceiver(f, layer) }

// TestFastRetransmitBoundedByRetries: a peer that acknowledges later
// messages, but never the oldest, cannot have it sent more than
// 1+MaxRetries times. Fast retransmission once ignored the bound and pushed
// the message's deadline back each time, so it was never given up on.
// FuzzSender found it.
func TestFastRetransmitBoundedByRetries(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := window.Layer{}.NewSender(core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 1, Queue: 16, Window: 8})
	push := func(n int) {
		for range n {
			if _, err := s.Push(func(seq uint64) ([]byte, error) { return fmt.Appendf(nil, "dg%d", seq), nil }, s.Pending()); err != nil {
				t.Fatal(err)
			}
		}
	}
	ack := func(at time.Time, seqs ...uint64) {
		for _, seq := range seqs {
			if acked := s.Ack(core.Ack{Seq: seq}, at); len(acked) != 0 {
				t.Fatalf("a selective ACK of %d delivered %v", seq, acked)
			}
		}
	}
	sends := func(at time.Time) map[any]int {
		send, failed, _ := s.Poll(at)
		if len(failed) != 0 {
			t.Fatalf("gave up on %v at %v", failed, at.Sub(t0))
		}
		attempts := map[any]int{}
		for _, tr := range send {
			attempts[tr.Ref] = tr.Attempt
		}
		return attempts
	}
	push(5)
	sends(t0)
	ack(t0, 1, 2, 3)
	if got := sends(t0.Add(10 * time.Millisecond)); got[0] != 2 {
		t.Fatalf("seq 0 overtaken by three: sent %v, want its retransmission", got)
	}
	push(3)
	sends(t0.Add(10 * time.Millisecond))
	ack(t0.Add(10*time.Millisecond), 5, 6, 7)
	if got := sends(t0.Add(20 * time.Millisecond)); got[0] != 0 {
		t.Fatalf("seq 0 sent as attempt %d, with MaxRetries 1", got[0])
	}
	_, failed, _ := s.Poll(t0.Add(time.Second))
	if len(failed) == 0 || failed[0] != 0 {
		t.Fatalf("at its deadline seq 0 was not given up on: failed %v", failed)
	}
}
