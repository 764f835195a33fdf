package histogram

import (
	"slices"
	"sync"
	"testing"
)

// TestBuckets: a value falls in the first bucket whose bound is at least
// it, one above every bound in the last; a Snapshot scales bounds and sum
// and accumulates for Prometheus.
func TestBuckets(t *testing.T) {
	h := New(2, 1, 10, 100)
	for _, v := range []int64{0, 1, 2, 10, 11, 100, 101, 5000} {
		h.Observe(v)
	}
	s := h.Snapshot()
	if want := []float64{0.5, 5, 50}; !slices.Equal(s.Bounds, want) {
		t.Errorf("bounds %v, want %v", s.Bounds, want)
	}
	if want := []uint64{2, 2, 2, 2}; !slices.Equal(s.Counts, want) {
		t.Errorf("counts %v, want %v", s.Counts, want)
	}
	if s.Count() != 8 || s.Sum != 5225*0.5 {
		t.Errorf("count %d, sum %v; want 8 and %v", s.Count(), s.Sum, 5225*0.5)
	}
	if c := s.Cumulative(); c[0.5] != 2 || c[5] != 4 || c[50] != 6 || len(c) != 3 {
		t.Errorf("cumulative %v", c)
	}
}

// TestSeconds: the bounds of a latency histogram read as the decimals
// they are, as Prometheus shows them in its le labels: 30, not
// 30.000000000000004.
func TestSeconds(t *testing.T) {
	want := []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	if got := New(Nanoseconds, Seconds...).Snapshot().Bounds; !slices.Equal(got, want) {
		t.Errorf("bounds %v, want %v", got, want)
	}
}

// TestTally: what a Tally gathers reaches the histogram only when added,
// and concurrent observers lose nothing.
func TestTally(t *testing.T) {
	h := New(1, Seconds...)
	var tl Tally
	tl.Observe(h, 3e6)
	tl.Observe(h, 40e9)
	if n := h.Snapshot().Count(); n != 0 {
		t.Fatalf("count %d before AddTo", n)
	}
	tl.AddTo(h)
	tl.AddTo(h) // emptied: nothing twice
	s := h.Snapshot()
	if s.Count() != 2 || s.Counts[3] != 1 || s.Counts[len(Seconds)] != 1 || s.Sum != 3e6+40e9 {
		t.Fatalf("after AddTo: %+v", s)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				h.Observe(1)
			}
		})
	}
	wg.Wait()
	if n := h.Snapshot().Count(); n != 4002 {
		t.Fatalf("count %d, want 4002", n)
	}
}

// TestTallyAllocates nothing: it is for the hot path.
func TestTallyAllocates(t *testing.T) {
	h := New(Nanoseconds, Seconds...)
	if n := testing.AllocsPerRun(100, func() {
		var tl Tally
		tl.Observe(h, 7e6)
		tl.AddTo(h)
		h.Observe(1)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
