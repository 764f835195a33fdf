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
// reordering (up to 4 ms of jitter on 10 ms) both ways, with the default
// window of 128 and the receiver advertising its own, arrive exactly once
// and in order, and no more datagrams go for each than the layer sent
// before (1.47 with 64 in flight).
func TestLossyTransfer(t *testing.T) {
	cfg := core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 30, Queue: 10000}
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
	tx := float64(res.sends) / 10000
	t.Logf("10000 messages in %v of virtual time (%.0f a second), %d transmissions (%.3f per message, %d sent again that had arrived)",
		res.elapsed, 10000/res.elapsed.Seconds(), res.sends, tx, res.spurious)
	if tx > 1.47 {
		t.Fatalf("%.3f transmissions per message, more than the 1.47 of the layer with 64 in flight and sender-wide backoff", tx)
	}
}

// TestGoodputVersusStopAndWait: at 20 ms round trip and 5% loss the window
// moves at least 10 times the messages a second that stop-and-wait does.
// Virtual time makes the figure exact and repeatable.
func TestGoodputVersusStopAndWait(t *testing.T) {
	rates := map[string]float64{}
	for _, layer := range []core.Reliability{stopwait.Layer{}, window.Layer{}} {
		cfg := core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 30, Queue: 2000}
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

// TestReceiver walks a receiver configured with a window of 4 through
// gaps, duplicates and its edge, which is MinReceiveWindow past the gap:
// it holds what a peer with the default window sends.
func TestReceiver(t *testing.T) {
	r := window.Layer{}.NewReceiver(core.ReliabilityConfig{Window: 4})
	const w = window.MinReceiveWindow
	tests := []struct {
		seq   uint64
		want  core.Arrival
		ready string
	}{
		{0, core.ArrivalNew, "[0]"},
		{2, core.ArrivalNew, "[]"},          // held behind the gap at 1
		{2, core.ArrivalDuplicate, ""},      // held already
		{1 + w, core.ArrivalOutOfOrder, ""}, // beyond 1+w
		{w, core.ArrivalNew, "[]"},          // the last in the window
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
	// One configured wider than MinReceiveWindow holds its own window.
	r = window.Layer{}.NewReceiver(core.ReliabilityConfig{Window: 3 * w})
	if got := r.Classify(3*w - 1); got != core.ArrivalNew {
		t.Fatalf("window %d: Classify(%d) = %v, want new", 3*w, 3*w-1, got)
	}
	if got := r.Classify(3 * w); got != core.ArrivalOutOfOrder {
		t.Fatalf("window %d: Classify(%d) = %v, want out of order", 3*w, 3*w, got)
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
	// Twice: it is the oldest, lost while the peer answers, and the
	// window waits for it.
	send, _, _ = s.Poll(t0.Add(25 * time.Millisecond))
	if len(send) != 2 || send[0].Ref != 0 || send[0].Attempt != 2 || send[1].Ref != 0 || send[1].Attempt != 3 {
		t.Fatalf("after three later ACKs and the reordering wait sent %+v, want message 0 again, twice", send)
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
// achieves (msg/s), and the transmissions per message (tx/msg), with the
// layers' default windows. Virtual time makes the figures exact and
// repeatable; docs/PERFORMANCE.md quotes them. The path is badLink's (up
// to 4 ms of jitter each way and 5% duplication); window/kcp-link is the
// window over the plain 10 ms each way of the figures kcp-go is compared
// with, nothing but the loss.
func BenchmarkGoodput(b *testing.B) {
	run := func(name string, layer core.Reliability, link func(seed uint64, loss float64) link) {
		for _, loss := range []float64{0, 0.05, 0.20} {
			b.Run(fmt.Sprintf("%s/loss=%g", name, loss), func(b *testing.B) {
				var res simResult
				for range b.N {
					cfg := core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 30, Queue: 2000}
					res = simulate(layer, cfg, 2000, link(5, loss), link(6, loss))
				}
				b.ReportMetric(2000/res.elapsed.Seconds(), "msg/s")
				b.ReportMetric(float64(res.sends)/2000, "tx/msg")
			})
		}
	}
	run("stop-and-wait", stopwait.Layer{}, badLink)
	run("window", window.Layer{}, badLink)
	run("window/kcp-link", window.Layer{}, func(seed uint64, loss float64) link {
		l := badLink(seed, loss)
		l.jitter, l.dup = 0, 0
		return l
	})
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
		{"last in the window", 10 + window.MinReceiveWindow - 1, core.ArrivalNew},
		{"first beyond the window", 10 + window.MinReceiveWindow, core.ArrivalOutOfOrder},
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

// TestTimeoutGrowth: a message's timeout grows by half on each timeout
// while the peer acknowledges others (an isolated loss, as KCP's turbo
// mode), and doubles once it has acknowledged nothing since (an outage);
// its lost copies go twice while the peer answers, once after.
func TestTimeoutGrowth(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := window.Layer{}.NewSender(core.ReliabilityConfig{RTO: 100 * time.Millisecond, Persist: true, Window: 4, Queue: 4})
	for i := range 2 {
		if _, err := s.Push(build, i); err != nil {
			t.Fatal(err)
		}
	}
	if send, _, _ := s.Poll(t0); len(send) != 2 {
		t.Fatalf("first poll sent %d, want 2", len(send))
	}
	// 1 arrives, 0 does not: the peer answers, but one later message is
	// no evidence against 0, which waits for its timeout.
	s.Ack(core.Ack{Seq: 1, Cum: 0, HasCum: true}, t0.Add(10*time.Millisecond))
	type transmission struct {
		at       time.Duration
		attempts []int
	}
	var got []transmission
	now := t0
	for len(got) < 4 {
		send, _, next := s.Poll(now)
		if len(send) > 0 {
			tr := transmission{at: now.Sub(t0)}
			for _, x := range send {
				if x.Ref != 0 {
					t.Fatalf("at %v sent %+v, want only message 0", now.Sub(t0), x)
				}
				tr.attempts = append(tr.attempts, x.Attempt)
			}
			got = append(got, tr)
		}
		if !next.After(now) {
			t.Fatalf("Poll at %v asks for %v", now.Sub(t0), next.Sub(t0))
		}
		if len(got) == 1 && len(send) > 0 {
			// The peer acknowledges 1 again after the copies of 0 went
			// out: it answers, so 0's next timeout grows by half again;
			// then silence, and it doubles.
			s.Ack(core.Ack{Seq: 1, Cum: 0, HasCum: true}, next.Add(-time.Millisecond))
		}
		now = next
	}
	// The first timeout is the initial RTO (100 ms: the sample of 10 ms
	// came after 0 was sent); then 150 ms, twice; 225 ms; 450 ms.
	want := fmt.Sprint([]transmission{
		{100 * time.Millisecond, []int{2, 3}},
		{250 * time.Millisecond, []int{4, 5}},
		{475 * time.Millisecond, []int{6}},
		{925 * time.Millisecond, []int{7}},
	})
	if fmt.Sprint(got) != want {
		t.Fatalf("retransmissions %v, want %v", got, want)
	}
}

// TestPacing: a burst of a whole window goes out paceBurst (16) at once,
// then spread at 5/4 of the window per round trip, so over about 0.7 of
// one, and Poll asks to be called when the next may go.
func TestPacing(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := window.Layer{}.NewSender(core.ReliabilityConfig{RTO: 100 * time.Millisecond, Queue: 1024})
	// One round trip of 20 ms, measured.
	s.Push(build, -1)
	s.Poll(t0)
	now := t0.Add(20 * time.Millisecond)
	s.Ack(core.Ack{Seq: 0, Cum: 1, HasCum: true}, now)
	for i := range window.DefaultWindow {
		if _, err := s.Push(build, i); err != nil {
			t.Fatal(err)
		}
	}
	start, sent, last := now, 0, now
	for polls := 0; sent < window.DefaultWindow; polls++ {
		send, _, next := s.Poll(now)
		if polls == 0 && len(send) != 16 {
			t.Fatalf("the first poll sent %d, want a burst of 16", len(send))
		}
		sent, last = sent+len(send), now
		if sent < window.DefaultWindow && (!next.After(now) || next.Sub(now) > window.MaxPaceInterval) {
			t.Fatalf("with %d sent, Poll at %v asks for %v", sent, now.Sub(start), next.Sub(start))
		}
		now = next
	}
	// 112 more at 125 µs each (20 ms * 4/5 / 128).
	if took := last.Sub(start); took != 112*125*time.Microsecond {
		t.Fatalf("the window went out over %v, want 14ms", took)
	}
}

// TestAdvertisedWindow: the sender keeps no more in flight than the
// receiver's last advertised window, one at least when it advertises
// zero, and never more than its own; an ACK older than the one that set
// the window (a smaller cumulative part: reordered or replayed) does not
// change it.
func TestAdvertisedWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := window.Layer{}.NewSender(core.ReliabilityConfig{RTO: 100 * time.Millisecond, Queue: 1024, Window: 64})
	for i := range 1000 {
		if _, err := s.Push(build, i); err != nil {
			t.Fatal(err)
		}
	}
	now := t0
	// flight sends what Poll lets go over the next round trip (pacing
	// spreads a window over most of one) and returns the seqs in flight
	// after it: cum on, since the ACKs say everything below cum arrived.
	inFlight, cum := 0, uint64(0)
	flight := func() int {
		for end := now.Add(50 * time.Millisecond); now.Before(end); now = now.Add(time.Millisecond) {
			send, _, _ := s.Poll(now)
			for _, tr := range send {
				if tr.Attempt == 1 { // not a retransmission of one in flight
					inFlight++
				}
			}
		}
		return inFlight
	}
	ack := func(n uint64, wnd uint32) {
		// Everything in flight arrived, and the receiver says what it takes.
		cum += n
		inFlight -= int(n)
		s.Ack(core.Ack{Seq: cum - 1, Cum: cum, HasCum: true, Window: wnd, HasWindow: true}, now)
	}
	if got := flight(); got != 64 {
		t.Fatalf("%d in flight before any advertisement, want its own window, 64", got)
	}
	for _, step := range []struct {
		wnd  uint32
		want int
	}{
		{8, 8},    // a receiver whose application fell behind
		{0, 1},    // one that holds nothing: one DATA, whose ACK says more
		{1, 1},    // so
		{500, 64}, // never past the sender's own window
		{3, 3},
	} {
		ack(uint64(inFlight), step.wnd)
		if got := flight(); got != step.want {
			t.Fatalf("advertised %d: %d in flight, want %d", step.wnd, got, step.want)
		}
	}
	// A stale ACK (cumulative part behind the last) advertising more is
	// not believed; the fresh one after it is.
	s.Ack(core.Ack{Seq: 0, Cum: 1, HasCum: true, Window: 64, HasWindow: true}, now)
	if got := flight(); got != 3 {
		t.Fatalf("a stale ACK's window: %d in flight, want 3", got)
	}
	ack(uint64(inFlight), 10)
	if got := flight(); got != 10 {
		t.Fatalf("advertised 10 after a stale ACK: %d in flight, want 10", got)
	}
	if s.(core.Flow).CanSend() {
		t.Fatal("CanSend with the advertised window full")
	}
}

// TestReceiveWindow: each layer's receiver says the window it takes, what
// the client advertises: the window layer's max(Window, MinReceiveWindow),
// stop-and-wait's 1.
func TestReceiveWindow(t *testing.T) {
	for _, tc := range []struct {
		layer core.Reliability
		cfg   int
		want  int
	}{
		{window.Layer{}, 0, window.MinReceiveWindow},
		{window.Layer{}, 16, window.MinReceiveWindow},
		{window.Layer{}, 512, 512},
		{stopwait.Layer{}, 128, 1},
	} {
		r, ok := tc.layer.NewReceiver(core.ReliabilityConfig{Window: tc.cfg}).(core.ReceiveWindow)
		if !ok {
			t.Fatalf("%s's receiver says no window", tc.layer.Name())
		}
		if got := r.Window(); got != tc.want {
			t.Errorf("%s with window %d takes %d, want %d", tc.layer.Name(), tc.cfg, got, tc.want)
		}
	}
}

// TestHeldFrontIsNoRTTSample: when the receiver holds everything in flight
// and its cumulative ACK does not come, the oldest is watched again; an
// ACK of it that comes much later (a duplicate, a late copy) says nothing
// of the round trip, which stays what was measured.
func TestHeldFrontIsNoRTTSample(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := window.Layer{}.NewSender(core.ReliabilityConfig{RTO: 100 * time.Millisecond, Queue: 16}).(*window.Sender)
	s.Push(build, -1)
	s.Poll(t0)
	s.Ack(core.Ack{Seq: 0, Cum: 1, HasCum: true}, t0.Add(10*time.Millisecond)) // 10 ms measured
	rto := s.RTO()
	now := t0.Add(20 * time.Millisecond)
	for i := range 2 {
		s.Push(build, i)
	}
	s.Poll(now)
	// Both held by the receiver, selectively acknowledged; the cumulative
	// ACK is lost.
	now = now.Add(10 * time.Millisecond)
	s.Ack(core.Ack{Seq: 2, Cum: 1, HasCum: true}, now)
	s.Ack(core.Ack{Seq: 1, Cum: 1, HasCum: true}, now)
	s.Poll(now) // all held: the oldest is watched again
	// A copy of seq 1's ACK, 500 ms on.
	s.Ack(core.Ack{Seq: 1, Cum: 1, HasCum: true}, now.Add(500*time.Millisecond))
	if got := s.RTO(); got > 2*rto {
		t.Fatalf("RTO %v after a late ACK of a held message, was %v: taken as a round trip", got, rto)
	}
}
