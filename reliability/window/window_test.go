package window_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/reliabilitytest"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/reliability/window"
)

func badLink(seed uint64, loss float64) link {
	return link{rng: rand.New(rand.NewPCG(seed, 1)), delay: 10 * time.Millisecond, jitter: 4 * time.Millisecond, loss: loss, dup: 0.05}
}

// TestLossyTransfer: 10,000 messages through 20% loss, 5% duplication and
// reordering both ways arrive exactly once and in order.
func TestLossyTransfer(t *testing.T) {
	cfg := core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 30, Window: 64, Queue: 10000}
	res := simulate(window.Layer{}, cfg, 10000, badLink(1, 0.2), badLink(2, 0.2))
	if res.failed != 0 {
		t.Fatalf("%d messages given up on", res.failed)
	}
	if len(res.delivered) != 10000 {
		t.Fatalf("%d of 10000 delivered", len(res.delivered))
	}
	for i, v := range res.delivered {
		if v != uint64(i) {
			t.Fatalf("delivery %d is message %d: not exactly once in order", i, v)
		}
	}
	t.Logf("10000 messages in %v of virtual time, %d transmissions (%.2f per message)", res.elapsed, res.sends, float64(res.sends)/10000)
}

// TestGoodputVersusStopAndWait: at 20 ms round trip and 5% loss the window
// moves at least 10 times the messages a second that stop-and-wait does.
// Virtual time makes the figure exact and repeatable.
func TestGoodputVersusStopAndWait(t *testing.T) {
	rates := map[string]float64{}
	for _, layer := range []core.Reliability{stopwait.Layer{}, window.Layer{}} {
		cfg := core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 30, Window: 64, Queue: 2000}
		res := simulate(layer, cfg, 2000, badLink(3, 0.05), badLink(4, 0.05))
		if len(res.delivered) != 2000 {
			t.Fatalf("%s delivered %d of 2000", layer.Name(), len(res.delivered))
		}
		rates[layer.Name()] = 2000 / res.elapsed.Seconds()
	}
	ratio := rates["window"] / rates["stop-and-wait"]
	t.Logf("goodput at 20 ms RTT, 5%% loss: stop-and-wait %.0f msg/s, window %.0f msg/s, %.1fx", rates["stop-and-wait"], rates["window"], ratio)
	if ratio < 10 {
		t.Fatalf("window is only %.1fx stop-and-wait", ratio)
	}
}

func TestReceiver(t *testing.T) {
	r := window.Layer{}.NewReceiver(core.ReliabilityConfig{Window: 4})
	tests := []struct {
		seq   uint64
		want  core.Arrival
		ready string
	}{
		{0, core.ArrivalNew, "[0]"},
		{2, core.ArrivalNew, "[]"},      // held behind the gap at 1
		{2, core.ArrivalDuplicate, ""},  // held already
		{5, core.ArrivalOutOfOrder, ""}, // beyond 1+4
		{4, core.ArrivalNew, "[]"},
		{1, core.ArrivalNew, "[1 2]"}, // fills the gap: 1 and the held 2
		{0, core.ArrivalDuplicate, ""},
		{3, core.ArrivalNew, "[3 4]"},
	}
	for i, tt := range tests {
		if got := r.Classify(tt.seq); got != tt.want {
			t.Fatalf("step %d: Classify(%d) = %v, want %v", i, tt.seq, got, tt.want)
		}
		if tt.want == core.ArrivalNew {
			if got := fmt.Sprint(r.Accept(tt.seq, tt.seq)); got != tt.ready {
				t.Fatalf("step %d: Accept(%d) = %s, want %s", i, tt.seq, got, tt.ready)
			}
		}
	}
	if r.Cumulative() != 5 {
		t.Fatalf("Cumulative = %d, want 5", r.Cumulative())
	}
}

func build(seq uint64) ([]byte, error) { return []byte{byte(seq)}, nil }

// TestSenderSequence walks a sender through a window, selective and
// cumulative ACKs, fast retransmit, timeouts with backoff, and a give-up.
func TestSenderSequence(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := window.Layer{}.NewSender(core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 2, Window: 4, Queue: 8})
	for i := range 6 {
		if _, err := s.Push(build, i); err != nil {
			t.Fatal(err)
		}
	}
	send, _, next := s.Poll(t0)
	if len(send) != 4 || !next.Equal(t0.Add(100*time.Millisecond)) {
		t.Fatalf("first poll sent %d (want the window of 4), next %v", len(send), next.Sub(t0))
	}
	// 1, 2 and 3 arrive, 0 does not: selective ACKs deliver nothing yet,
	// and the third is evidence enough to resend 0 before its timeout.
	for _, seq := range []uint64{1, 2, 3} {
		if d := s.Ack(core.Ack{Seq: seq, Cum: 0, HasCum: true}, t0.Add(20*time.Millisecond)); len(d) != 0 {
			t.Fatalf("ACK of %d behind a gap delivered %v", seq, d)
		}
	}
	// Not at once: overtaken is not yet lost, until a round trip and a
	// quarter (RACK) has passed since it was sent; then before its timeout.
	if send, _, next = s.Poll(t0.Add(20 * time.Millisecond)); len(send) != 0 || !next.Equal(t0.Add(25*time.Millisecond)) {
		t.Fatalf("right after three later ACKs sent %+v and next at %v, want nothing until 25ms", send, next.Sub(t0))
	}
	send, _, _ = s.Poll(t0.Add(25 * time.Millisecond))
	if len(send) != 1 || send[0].Ref != 0 || send[0].Attempt != 2 {
		t.Fatalf("after three later ACKs and the reordering wait sent %+v, want message 0 again", send)
	}
	// 0 arrives: the cumulative ACK delivers 0 to 3, and the window moves on.
	if d := s.Ack(core.Ack{Seq: 0, Cum: 4, HasCum: true}, t0.Add(30*time.Millisecond)); fmt.Sprint(d) != "[0 1 2 3]" {
		t.Fatalf("cumulative ACK delivered %v", d)
	}
	send, _, _ = s.Poll(t0.Add(30 * time.Millisecond))
	if len(send) != 2 {
		t.Fatalf("sent %d, want the last 2", len(send))
	}
	// Nothing more arrives: timeouts, backing off, then a give-up.
	var failed []any
	at := t0.Add(30 * time.Millisecond)
	for range 10 {
		var f []any
		_, f, next = s.Poll(next)
		failed = append(failed, f...)
		if next.IsZero() {
			break
		}
		if gap := next.Sub(at); gap < 0 {
			t.Fatal("next poll in the past")
		}
		at = next
	}
	if fmt.Sprint(failed) != "[4 5]" || s.Pending() != 0 {
		t.Fatalf("gave up on %v with %d pending, want [4 5] and none", failed, s.Pending())
	}
	if _, err := s.Push(build, 6); err != nil {
		t.Fatal(err)
	}
}

// TestSenderQueueBound: the conformance suite's check of the queue bound.
func TestSenderQueueBound(t *testing.T) { reliabilitytest.TestQueueBound(t, layer) }

// TestLayer runs the conformance suite every reliability layer passes.
func TestLayer(t *testing.T) { reliabilitytest.TestLayer(t, layer) }

// TestRTOFollowsRTT: the timeout comes from measured round trips (RFC 6298),
// not the configured initial value.
func TestRTOFollowsRTT(t *testing.T) {
	s := window.Layer{}.NewSender(core.ReliabilityConfig{RTO: time.Second, Window: 1}).(*window.Sender)
	now := time.Unix(0, 0)
	for i := range 20 {
		s.Push(build, i)
		s.Poll(now)
		now = now.Add(50 * time.Millisecond)
		s.Ack(core.Ack{Seq: uint64(i), Cum: uint64(i + 1), HasCum: true}, now)
	}
	if rto := s.RTO(); rto < 50*time.Millisecond || rto > 100*time.Millisecond {
		t.Fatalf("RTO %v after steady 50 ms round trips, want about 50 ms plus variance", rto)
	}
}

// BenchmarkGoodput reports, for each layer at 20 ms RTT and 0%, 5% and 20%
// loss each way, the messages per second of virtual time a transfer of 2000
// achieves (msg/s), and the transmissions per message (tx/msg). Virtual time
// makes the figures exact and repeatable; docs/PERFORMANCE.md quotes them.
func BenchmarkGoodput(b *testing.B) {
	for _, layer := range []core.Reliability{stopwait.Layer{}, window.Layer{}} {
		for _, loss := range []float64{0, 0.05, 0.20} {
			b.Run(fmt.Sprintf("%s/loss=%g", layer.Name(), loss), func(b *testing.B) {
				var res simResult
				for range b.N {
					cfg := core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 30, Window: 64, Queue: 2000}
					res = simulate(layer, cfg, 2000, badLink(5, loss), badLink(6, loss))
				}
				b.ReportMetric(2000/res.elapsed.Seconds(), "msg/s")
				b.ReportMetric(float64(res.sends)/2000, "tx/msg")
			})
		}
	}
}

// TestReplayWindowEdges: the receive window refuses what a replay could be,
// at each edge: a duplicate held or delivered, anything too old, anything
// beyond the window, and the top of the sequence space.
func TestReplayWindowEdges(t *testing.T) {
	r := window.Layer{}.NewReceiver(core.ReliabilityConfig{Window: 64})
	for seq := range uint64(10) {
		r.Accept(seq, seq)
	}
	r.Accept(20, uint64(20)) // held behind the gap at 10
	tests := []struct {
		name string
		seq  uint64
		want core.Arrival
	}{
		{"delivered: a replay", 9, core.ArrivalDuplicate},
		{"far too old", 0, core.ArrivalDuplicate},
		{"held: a replay", 20, core.ArrivalDuplicate},
		{"the gap", 10, core.ArrivalNew},
		{"last in the window", 10 + 63, core.ArrivalNew},
		{"first beyond the window", 10 + 64, core.ArrivalOutOfOrder},
		{"far ahead", 1 << 40, core.ArrivalOutOfOrder},
		{"the top of the space", ^uint64(0), core.ArrivalOutOfOrder},
	}
	for _, tt := range tests {
		if got := r.Classify(tt.seq); got != tt.want {
			t.Errorf("%s: Classify(%d) = %v, want %v", tt.name, tt.seq, got, tt.want)
		}
	}
	if ready := r.Accept(^uint64(0), nil); ready != nil {
		t.Fatalf("Accept beyond the window took it: %v", ready)
	}
}
