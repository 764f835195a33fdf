// Package histogram counts observations into fixed buckets with atomics:
// a histogram an engine keeps on its hot path without a lock or an
// allocation, and hands to whoever reports it (package metrics) as a
// Snapshot.
package histogram

import "sync/atomic"

// Histogram counts integer observations (nanoseconds, messages) into
// buckets with fixed upper bounds. Its methods are safe for concurrent use;
// a Snapshot taken while others observe is consistent enough for metrics
// (each bucket is read once), not to the observation.
type Histogram struct {
	bounds []int64         // upper bounds, ascending
	counts []atomic.Uint64 // per bucket, len(bounds)+1: the last above every bound
	sum    atomic.Int64
	per    float64 // observed units per reported unit: 1e9 for seconds of nanoseconds
}

// New returns a histogram with the upper bounds given, ascending, in the
// unit observed, fewer than MaxBuckets of them; a Snapshot reports them
// and the sum divided by per (Nanoseconds for seconds; 1 as observed).
func New(per float64, bounds ...int64) *Histogram {
	if len(bounds) >= MaxBuckets {
		panic("histogram: too many bounds")
	}
	for i := 1; i < len(bounds); i++ {
		if bounds[i] <= bounds[i-1] {
			panic("histogram: bounds not ascending")
		}
	}
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1), per: per}
}

// Bucket is the index of the bucket v falls in: the first whose upper
// bound is at least v, or the last, above every bound.
func (h *Histogram) Bucket(v int64) int {
	for i, b := range h.bounds {
		if v <= b {
			return i
		}
	}
	return len(h.bounds)
}

// Observe counts v.
func (h *Histogram) Observe(v int64) {
	h.counts[h.Bucket(v)].Add(1)
	h.sum.Add(v)
}

// Snapshot is a histogram's counts at one moment.
type Snapshot struct {
	// Bounds are the upper bounds of the buckets, ascending, in the
	// reported unit; Counts the observations in each bucket (not
	// cumulative), one more than Bounds: the last is above every bound.
	Bounds []float64
	Counts []uint64
	// Sum is the sum of the observations, in the reported unit.
	Sum float64
}

// Snapshot returns the histogram's counts now.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Bounds: make([]float64, len(h.bounds)), Counts: make([]uint64, len(h.counts))}
	for i, b := range h.bounds {
		s.Bounds[i] = float64(b) / h.per
	}
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
	}
	s.Sum = float64(h.sum.Load()) / h.per
	return s
}

// Count is the number of observations.
func (s Snapshot) Count() uint64 {
	var n uint64
	for _, c := range s.Counts {
		n += c
	}
	return n
}

// Cumulative maps each upper bound to the observations at or below it,
// the form Prometheus takes; the count above every bound is Count's.
func (s Snapshot) Cumulative() map[float64]uint64 {
	m := make(map[float64]uint64, len(s.Bounds))
	var n uint64
	for i, b := range s.Bounds {
		n += s.Counts[i]
		m[b] = n
	}
	return m
}

// Seconds are bounds for latencies observed in nanoseconds, from half a
// millisecond (loopback) to 30 s (a message that waited out a recipient's
// outage), about 2.5 times apart, as Prometheus's default buckets are.
var Seconds = []int64{
	500e3, 1e6, 2.5e6, 5e6, 10e6, 25e6, 50e6, 100e6, 250e6, 500e6,
	1e9, 2.5e9, 5e9, 10e9, 30e9,
}

// Nanoseconds is the per of a histogram of Seconds: nanoseconds in a
// second.
const Nanoseconds = 1e9

// Tally gathers observations for a histogram of at most MaxBuckets
// buckets before they are known to count: a caller that may yet give up
// on what it observed adds a Tally to the histogram only once they do.
// Its zero value is empty.
type Tally struct {
	counts [MaxBuckets]uint32
	sum    int64
	n      uint32
}

// MaxBuckets bounds the buckets of a histogram a Tally gathers for.
const MaxBuckets = 32

// Observe counts v, for h.
func (t *Tally) Observe(h *Histogram, v int64) {
	t.counts[h.Bucket(v)]++
	t.sum += v
	t.n++
}

// AddTo adds what t gathered to h, and empties t.
func (t *Tally) AddTo(h *Histogram) {
	if t.n == 0 {
		return
	}
	for i := range h.counts {
		if c := t.counts[i]; c > 0 {
			h.counts[i].Add(uint64(c))
		}
	}
	h.sum.Add(t.sum)
	*t = Tally{}
}

// Reset empties t.
func (t *Tally) Reset() { *t = Tally{} }
