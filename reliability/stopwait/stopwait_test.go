package stopwait_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/reliabilitytest"
	"github.com/udpchat/udpchat/reliability/stopwait"
)

func build(seq uint64) ([]byte, error) { return fmt.Appendf(nil, "dg%d", seq), nil }

// TestSenderSequence walks a sender through the seed's timeline step by step:
// one message in flight, retransmission every RTO, give-up after MaxRetries.
func TestSenderSequence(t *testing.T) {
	t0 := time.Unix(1000, 0)
	rto := 2 * time.Second
	s := stopwait.Layer{}.NewSender(core.ReliabilityConfig{RTO: rto, MaxRetries: 2, Queue: 3})

	for i := range 3 {
		seq, err := s.Push(build, i)
		if err != nil || seq != uint64(i) {
			t.Fatalf("Push %d = %d, %v", i, seq, err)
		}
	}
	if _, err := s.Push(build, 3); !errors.Is(err, core.ErrQueueFull) {
		t.Fatalf("Push beyond the queue: %v, want ErrQueueFull", err)
	}

	type step struct {
		at        time.Duration
		ack       int // -1: none
		wantSend  []string
		wantFail  []any
		wantAcked []any
		wantNext  time.Duration // -1: idle
	}
	steps := []step{
		{at: 0, ack: -1, wantSend: []string{"dg0"}, wantNext: rto},
		{at: time.Second, ack: -1, wantNext: rto},                    // nothing due yet
		{at: time.Second, ack: 1, wantNext: rto},                     // wrong ack_seq changes nothing
		{at: time.Second, ack: 0, wantAcked: []any{0}, wantNext: -1}, // acknowledged; next goes on Poll
		{at: time.Second, ack: -1, wantSend: []string{"dg1"}, wantNext: time.Second + rto},
		{at: 3 * time.Second, ack: -1, wantSend: []string{"dg1"}, wantNext: 5 * time.Second},
		{at: 5 * time.Second, ack: -1, wantSend: []string{"dg1"}, wantNext: 7 * time.Second},
		// two retries spent: give up on 1, start 2 at once
		{at: 7 * time.Second, ack: -1, wantSend: []string{"dg2"}, wantFail: []any{1}, wantNext: 9 * time.Second},
		{at: 7 * time.Second, ack: 1, wantNext: 9 * time.Second}, // a late ACK for a given-up message
		{at: 8 * time.Second, ack: 2, wantAcked: []any{2}, wantNext: -1},
		{at: 8 * time.Second, ack: -1, wantNext: -1},
	}
	for i, st := range steps {
		now := t0.Add(st.at)
		if st.ack >= 0 {
			acked := s.Ack(core.Ack{Seq: uint64(st.ack)}, now)
			if fmt.Sprint(acked) != fmt.Sprint(st.wantAcked) {
				t.Fatalf("step %d: Ack(%d) = %v, want %v", i, st.ack, acked, st.wantAcked)
			}
			if st.wantAcked != nil {
				continue
			}
		}
		send, failed, next := s.Poll(now)
		var got []string
		for _, tr := range send {
			got = append(got, string(tr.Datagram))
		}
		if fmt.Sprint(got) != fmt.Sprint(st.wantSend) || fmt.Sprint(failed) != fmt.Sprint(st.wantFail) {
			t.Fatalf("step %d: Poll sent %v failed %v, want %v and %v", i, got, failed, st.wantSend, st.wantFail)
		}
		wantNext := time.Time{}
		if st.wantNext >= 0 {
			wantNext = t0.Add(st.wantNext)
		}
		if !next.Equal(wantNext) {
			t.Fatalf("step %d: next poll %v, want %v", i, next.Sub(t0), st.wantNext)
		}
	}
	if s.Pending() != 0 {
		t.Fatalf("Pending = %d after everything was settled", s.Pending())
	}
}

// TestSenderDrain: the conformance suite's check of Drain.
func TestSenderDrain(t *testing.T) { reliabilitytest.TestDrain(t, layer) }

// TestSenderBuildError: the conformance suite's check of a failed build.
func TestSenderBuildError(t *testing.T) { reliabilitytest.TestBuildError(t, layer) }

func TestReceiver(t *testing.T) {
	r := stopwait.Layer{}.NewReceiver(core.ReliabilityConfig{})
	tests := []struct {
		seq    uint64
		accept bool
		want   core.Arrival
	}{
		{0, true, core.ArrivalNew},
		{0, false, core.ArrivalDuplicate}, // ACK lost, sent again
		{2, false, core.ArrivalOutOfOrder},
		{1, false, core.ArrivalNew}, // not accepted (bad MAC): still expected
		{1, true, core.ArrivalNew},
		{1, false, core.ArrivalDuplicate},
		{2, true, core.ArrivalNew},
	}
	for i, tt := range tests {
		if got := r.Classify(tt.seq); got != tt.want {
			t.Fatalf("step %d: Classify(%d) = %v, want %v", i, tt.seq, got, tt.want)
		}
		if tt.accept {
			if ready := r.Accept(tt.seq, tt.seq); len(ready) != 1 || ready[0] != tt.seq {
				t.Fatalf("step %d: Accept(%d) = %v", i, tt.seq, ready)
			}
		}
	}
}

// TestLayer runs the conformance suite every reliability layer passes.
func TestLayer(t *testing.T) { reliabilitytest.TestLayer(t, layer) }
