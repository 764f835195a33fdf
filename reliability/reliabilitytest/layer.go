package reliabilitytest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"
	"weak"

	"github.com/udpchat/udpchat/core"
)

// LayerConfig is the configuration TestLayer runs a layer under: every
// bound small enough to reach, and an RTO that no layer clamps.
var LayerConfig = core.ReliabilityConfig{RTO: time.Second, MaxRetries: 2, Queue: 4, Window: 4}

// t0 is where the virtual clock of TestLayer starts.
var t0 = time.Unix(1_000_000, 0)

// build is the datagram of seq: its number, so that a test reads it back.
func build(seq uint64) ([]byte, error) { return binary.BigEndian.AppendUint64(nil, seq), nil }

// seqOf reads back what build wrote.
func seqOf(t *testing.T, tr core.Transmission) uint64 {
	t.Helper()
	if len(tr.Datagram) != 8 {
		t.Fatalf("a transmission of %x, which build never made", tr.Datagram)
	}
	return binary.BigEndian.Uint64(tr.Datagram)
}

// TestLayer runs the deterministic conformance suite of core.Reliability
// against l, the step-by-step behaviour every layer has, each part a
// subtest: TestInOrder, TestReceiver, TestUnknownAck, TestRetransmit,
// TestGiveUp, TestBackoff, TestPersist, TestDrain, TestQueueBound,
// TestBuildError and TestReleasesAcked. FuzzSender and
// FuzzReceiver check the invariants under any program.
func TestLayer(t *testing.T, l Layer) {
	if l.Name() == "" {
		t.Error("Name() is empty")
	}
	for _, part := range []struct {
		name string
		run  func(*testing.T, Layer)
	}{
		{"InOrder", TestInOrder}, {"Receiver", TestReceiver}, {"UnknownAck", TestUnknownAck},
		{"Retransmit", TestRetransmit}, {"GiveUp", TestGiveUp},
		{"Backoff", TestBackoff}, {"Persist", TestPersist}, {"Drain", TestDrain},
		{"QueueBound", TestQueueBound}, {"BuildError", TestBuildError},
		{"ReleasesAcked", TestReleasesAcked},
	} {
		t.Run(part.name, func(t *testing.T) { part.run(t, l) })
	}
}

// push pushes ref, failing the test unless it gets seq.
func push(t *testing.T, s core.Sender, ref any, seq uint64) {
	t.Helper()
	got, err := s.Push(build, ref)
	if err != nil || got != seq {
		t.Fatalf("Push(%v) = %d, %v; want seq %d", ref, got, err, seq)
	}
}

// TestInOrder checks a lossless exchange between a Sender and a Receiver
// of l: sequence numbers count from 0, each message is sent once and
// delivered once, in order, and acknowledged once, in order, however many
// are in flight; nothing is left pending or to do.
func TestInOrder(t *testing.T, l Layer) {
	s, r := l.NewSender(LayerConfig), l.NewReceiver(LayerConfig)
	const total = 10
	var pushed, delivered, acked []any
	for step := 0; len(acked) < total; step++ {
		if step > 10*total {
			t.Fatalf("after %d rounds, %d of %d messages acknowledged", step, len(acked), total)
		}
		for len(pushed) < total && s.Pending() < LayerConfig.Queue {
			ref := fmt.Sprint("m", len(pushed))
			push(t, s, ref, uint64(len(pushed)))
			pushed = append(pushed, ref)
		}
		send, failed, _ := s.Poll(t0)
		if len(failed) != 0 {
			t.Fatalf("gave up on %v without any time passing", failed)
		}
		for _, tr := range slices.Clone(send) {
			seq := seqOf(t, tr)
			if tr.Attempt != 1 || tr.Ref != pushed[seq] {
				t.Fatalf("transmission %+v of seq %d, want attempt 1 of %v", tr, seq, pushed[seq])
			}
			if got := r.Classify(seq); got != core.ArrivalNew {
				t.Fatalf("Classify(%d) of a new message in order = %v", seq, got)
			}
			delivered = append(delivered, r.Accept(seq, tr.Ref)...)
			acked = append(acked, s.Ack(core.Ack{Seq: seq, Cum: r.Cumulative(), HasCum: true}, t0)...)
		}
	}
	if !slices.Equal(delivered, pushed) || !slices.Equal(acked, pushed) {
		t.Fatalf("pushed %v, delivered %v, acknowledged %v", pushed, delivered, acked)
	}
	if send, failed, next := s.Poll(t0.Add(time.Hour)); s.Pending() != 0 || len(send) != 0 || len(failed) != 0 || !next.IsZero() {
		t.Fatalf("all acknowledged, and Pending = %d, Poll = %v, %v, %v", s.Pending(), send, failed, next)
	}
}

// TestReceiver checks a Receiver of l: a sequence number is new until it
// is accepted (a message that failed to open does not use it up), then a
// duplicate; one at or beyond the window past the cumulative
// acknowledgement is out of order; and Accept delivers in order.
func TestReceiver(t *testing.T, l Layer) {
	r := l.NewReceiver(LayerConfig)
	window := uint64(l.receiveWindow(LayerConfig))
	classify := func(seq uint64, want core.Arrival) {
		t.Helper()
		if got := r.Classify(seq); got != want {
			t.Fatalf("Classify(%d) with Cumulative %d = %v, want %v", seq, r.Cumulative(), got, want)
		}
	}
	accept := func(seq uint64, v any) {
		t.Helper()
		if got := r.Accept(seq, v); !slices.Equal(got, []any{v}) {
			t.Fatalf("Accept(%d, %v) = %v, want it delivered", seq, v, got)
		}
	}
	classify(0, core.ArrivalNew)
	classify(0, core.ArrivalNew) // not accepted: still expected
	accept(0, "a")
	classify(0, core.ArrivalDuplicate)
	classify(1+window, core.ArrivalOutOfOrder)
	classify(math.MaxUint64, core.ArrivalOutOfOrder)
	accept(1, "b")
	classify(1, core.ArrivalDuplicate)
	classify(0, core.ArrivalDuplicate)
	if r.Cumulative() != 2 {
		t.Fatalf("Cumulative = %d after 0 and 1, want 2", r.Cumulative())
	}
}

// TestUnknownAck checks that acknowledgements of what was never sent, or
// of what was acknowledged already, change nothing.
func TestUnknownAck(t *testing.T, l Layer) {
	s := l.NewSender(LayerConfig)
	push(t, s, "m0", 0)
	if send, _, _ := s.Poll(t0); len(send) != 1 {
		t.Fatalf("first Poll sent %d, want 1", len(send))
	}
	for _, a := range []core.Ack{{Seq: 99}, {Seq: 99, Cum: 0, HasCum: true}, {Seq: math.MaxUint64}} {
		if got := s.Ack(a, t0); len(got) != 0 {
			t.Fatalf("Ack(%+v) of nothing sent acknowledged %v", a, got)
		}
	}
	if s.Pending() != 1 {
		t.Fatalf("Pending = %d after unknown ACKs, want 1", s.Pending())
	}
	if got := s.Ack(core.Ack{Seq: 0, Cum: 1, HasCum: true}, t0); !slices.Equal(got, []any{"m0"}) {
		t.Fatalf("Ack of 0 = %v, want [m0]", got)
	}
	if got := s.Ack(core.Ack{Seq: 0, Cum: 1, HasCum: true}, t0); len(got) != 0 {
		t.Fatalf("a second Ack of 0 acknowledged %v again", got)
	}
	if s.Pending() != 0 {
		t.Fatalf("Pending = %d, want 0", s.Pending())
	}
}

// TestRetransmit checks that a message not acknowledged is sent again, the
// same datagram with the next Attempt, once the RTO has passed and not
// before, and that Poll asks to be called again by then.
func TestRetransmit(t *testing.T, l Layer) {
	s := l.NewSender(LayerConfig)
	push(t, s, "m0", 0)
	send, _, next := s.Poll(t0)
	if len(send) != 1 || send[0].Attempt != 1 {
		t.Fatalf("first Poll sent %+v, want attempt 1 of m0", send)
	}
	first := slices.Clone(send[0].Datagram)
	rto := LayerConfig.RTO
	if !next.After(t0) || next.After(t0.Add(rto)) {
		t.Fatalf("next poll at %v, want within the RTO of %v", next.Sub(t0), rto)
	}
	if send, failed, _ := s.Poll(t0.Add(rto - time.Nanosecond)); len(send) != 0 || len(failed) != 0 {
		t.Fatalf("before the RTO Poll sent %+v and gave up on %v", send, failed)
	}
	send, _, _ = s.Poll(t0.Add(rto))
	if len(send) != 1 || send[0].Attempt != 2 || send[0].Ref != "m0" || string(send[0].Datagram) != string(first) {
		t.Fatalf("at the RTO Poll sent %+v, want attempt 2 of m0", send)
	}
}

// TestGiveUp checks that a message never acknowledged is sent 1+MaxRetries
// times, Poll being called whenever it asks to be, then given up on: its
// ref comes back in failed exactly once, nothing is left pending, and a
// late acknowledgement of it changes nothing.
func TestGiveUp(t *testing.T, l Layer) {
	s := l.NewSender(LayerConfig)
	push(t, s, "lost", 0)
	sent, gaveUp := 0, 0
	now := t0
	for range 100 {
		send, failed, next := s.Poll(now)
		sent += len(send)
		for _, f := range failed {
			if f != "lost" {
				t.Fatalf("gave up on %v, which was never pushed", f)
			}
			gaveUp++
		}
		if next.IsZero() {
			break
		}
		if next.Before(now) {
			t.Fatalf("Poll at %v asks to be called at %v, in the past", now.Sub(t0), next.Sub(t0))
		}
		now = next
	}
	if want := 1 + LayerConfig.MaxRetries; sent != want || gaveUp != 1 {
		t.Fatalf("sent %d times and gave up %d times, want %d and once", sent, gaveUp, want)
	}
	if s.Pending() != 0 {
		t.Fatalf("Pending = %d after giving up, want 0", s.Pending())
	}
	if got := s.Ack(core.Ack{Seq: 0, Cum: 1, HasCum: true}, now); len(got) != 0 {
		t.Fatalf("a late Ack of a message given up on acknowledged %v", got)
	}
	if send, failed, _ := s.Poll(now.Add(time.Hour)); len(send) != 0 || len(failed) != 0 {
		t.Fatalf("after giving up Poll sent %+v and gave up on %v", send, failed)
	}
}

// backoffTimes polls s whenever it asks, from t0 on, while it has something
// pending and at most transmissions times, and returns the times it sent
// its one message (seq 0) and how often it gave up on it.
func backoffTimes(t *testing.T, s core.Sender, transmissions int) (sentAt []time.Duration, gaveUp int) {
	t.Helper()
	now := t0
	for range 10 * transmissions {
		send, failed, next := s.Poll(now)
		for _, tr := range send {
			if seqOf(t, tr) != 0 || tr.Attempt != len(sentAt)+1 {
				t.Fatalf("at %v sent %+v, want attempt %d of seq 0", now.Sub(t0), tr, len(sentAt)+1)
			}
			sentAt = append(sentAt, now.Sub(t0))
		}
		gaveUp += len(failed)
		if next.IsZero() || len(sentAt) == transmissions {
			break
		}
		if !next.After(now) {
			t.Fatalf("Poll at %v asks to be called at %v", now.Sub(t0), next.Sub(t0))
		}
		now = next
	}
	return sentAt, gaveUp
}

// wantDoubling checks that the intervals between transmissions start at
// rto and double up to limit, then stay there.
func wantDoubling(t *testing.T, sentAt []time.Duration, rto, limit time.Duration) {
	t.Helper()
	want := rto
	for i := 1; i < len(sentAt); i++ {
		if got := sentAt[i] - sentAt[i-1]; got != want {
			t.Fatalf("transmissions at %v: interval %d is %v, want %v (from %v doubling up to %v)", sentAt, i, got, want, rto, limit)
		}
		want = min(2*want, limit)
	}
}

// TestBackoff checks that a Sender given MaxRTO and not Persist waits the
// RTO after the first transmission, twice as long after each
// retransmission up to MaxRTO, and still gives up after MaxRetries.
func TestBackoff(t *testing.T, l Layer) {
	cfg := LayerConfig
	cfg.MaxRetries, cfg.MaxRTO = 4, 5*cfg.RTO
	s := l.NewSender(cfg)
	push(t, s, "lost", 0)
	sentAt, gaveUp := backoffTimes(t, s, 100)
	if len(sentAt) != 1+cfg.MaxRetries || gaveUp != 1 {
		t.Fatalf("sent %d times and gave up %d times, want %d and once", len(sentAt), gaveUp, 1+cfg.MaxRetries)
	}
	wantDoubling(t, sentAt, cfg.RTO, cfg.MaxRTO)
	if s.Pending() != 0 {
		t.Fatalf("Pending = %d after giving up, want 0", s.Pending())
	}
}

// TestPersist checks that a Sender told to Persist never gives up: a
// message never acknowledged is sent again and again, long past
// MaxRetries, at intervals that double from the RTO up to MaxRTO and stay
// there, and the ACK that finally comes acknowledges it. With MaxRTO zero
// it is sent again at the layer's own intervals, and never given up on
// either.
func TestPersist(t *testing.T, l Layer) {
	const transmissions = 30
	for _, maxRTO := range []time.Duration{0, 4 * LayerConfig.RTO} {
		cfg := LayerConfig
		cfg.Persist, cfg.MaxRTO = true, maxRTO
		s := l.NewSender(cfg)
		push(t, s, "m0", 0)
		sentAt, gaveUp := backoffTimes(t, s, transmissions)
		if len(sentAt) != transmissions || gaveUp != 0 {
			t.Fatalf("MaxRTO %v: sent %d times and gave up %d times, want %d and never", maxRTO, len(sentAt), gaveUp, transmissions)
		}
		if maxRTO > 0 {
			wantDoubling(t, sentAt, cfg.RTO, maxRTO)
		}
		now := t0.Add(sentAt[len(sentAt)-1])
		if got := s.Ack(core.Ack{Seq: 0, Cum: 1, HasCum: true}, now); !slices.Equal(got, []any{"m0"}) {
			t.Fatalf("MaxRTO %v: the ACK after %d transmissions acknowledged %v, want [m0]", maxRTO, transmissions, got)
		}
		if send, failed, next := s.Poll(now.Add(time.Hour)); s.Pending() != 0 || len(send) != 0 || len(failed) != 0 || !next.IsZero() {
			t.Fatalf("MaxRTO %v: acknowledged, and Pending = %d, Poll = %+v, %v, %v", maxRTO, s.Pending(), send, failed, next)
		}
	}
}

// TestDrain checks that Drain returns the ref of every message queued or
// in flight, in order, leaves nothing pending or to send, and that
// sequence numbers go on after it (a receiver has seen the old ones).
func TestDrain(t *testing.T, l Layer) {
	s := l.NewSender(LayerConfig)
	var want []any
	for i := range LayerConfig.Queue {
		push(t, s, i, uint64(i))
		want = append(want, i)
	}
	s.Poll(t0)
	if got := s.Drain(); !slices.Equal(got, want) {
		t.Fatalf("Drain = %v, want %v", got, want)
	}
	if send, failed, next := s.Poll(t0.Add(time.Hour)); s.Pending() != 0 || len(send) != 0 || len(failed) != 0 || !next.IsZero() {
		t.Fatalf("after Drain, Pending = %d, Poll = %+v, %v, %v", s.Pending(), send, failed, next)
	}
	push(t, s, "after", uint64(LayerConfig.Queue))
}

// TestQueueBound checks that Push refuses a message beyond Queue pending
// with core.ErrQueueFull, and takes one again once a message is
// acknowledged.
func TestQueueBound(t *testing.T, l Layer) {
	s := l.NewSender(LayerConfig)
	for i := range LayerConfig.Queue {
		push(t, s, i, uint64(i))
	}
	if _, err := s.Push(build, "one too many"); !errors.Is(err, core.ErrQueueFull) {
		t.Fatalf("Push beyond the queue: %v, want core.ErrQueueFull", err)
	}
	if s.Pending() != LayerConfig.Queue {
		t.Fatalf("Pending = %d, want %d", s.Pending(), LayerConfig.Queue)
	}
	s.Poll(t0)
	if got := s.Ack(core.Ack{Seq: 0, Cum: 1, HasCum: true}, t0); !slices.Equal(got, []any{0}) {
		t.Fatalf("Ack of 0 = %v, want [0]", got)
	}
	push(t, s, "room again", uint64(LayerConfig.Queue))
}

// TestBuildError checks that a Push whose build fails returns its error
// and uses up neither a sequence number nor room in the queue.
func TestBuildError(t *testing.T, l Layer) {
	s := l.NewSender(LayerConfig)
	boom := errors.New("boom")
	if _, err := s.Push(func(uint64) ([]byte, error) { return nil, boom }, "failed"); !errors.Is(err, boom) {
		t.Fatalf("Push = %v, want the build error", err)
	}
	if s.Pending() != 0 {
		t.Fatalf("Pending = %d after a failed build, want 0", s.Pending())
	}
	push(t, s, "next", 0)
}

// TestReleasesAcked checks that a Sender keeps no reference to the
// datagram of a message once it is acknowledged: a server holds a Sender
// per session for the session's life, and one that kept its last DATA
// (in a reused result slice, say) would make every idle session cost a
// datagram more.
func TestReleasesAcked(t *testing.T, l Layer) {
	s := l.NewSender(LayerConfig)
	var released weak.Pointer[byte]
	if _, err := s.Push(func(seq uint64) ([]byte, error) {
		dg := make([]byte, 600) // a DATA's size: not from a tiny allocator's block
		released = weak.Make(&dg[0])
		return binary.BigEndian.AppendUint64(dg[:0], seq), nil
	}, "ref"); err != nil {
		t.Fatal(err)
	}
	if send, _, _ := s.Poll(t0); len(send) != 1 {
		t.Fatalf("Poll sent %d datagrams, want 1", len(send))
	}
	if acked := s.Ack(core.Ack{Seq: 0, Cum: 1, HasCum: true}, t0.Add(time.Millisecond)); len(acked) != 1 {
		t.Fatalf("Ack acknowledged %v, want the one message", acked)
	}
	runtime.GC()
	if released.Value() != nil {
		t.Fatal("the Sender still holds the datagram of an acknowledged message")
	}
	runtime.KeepAlive(s)
}
