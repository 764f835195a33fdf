package main

import (
	"math"
	"math/bits"
	"slices"
	"sync"
	"time"
)

// maxSamples bounds the latency samples a Recorder keeps exactly: 4 Mi
// samples are 32 MiB. Beyond it, percentiles come from the histogram.
const maxSamples = 4 << 20

// Summary is a distribution of durations, in milliseconds, as the JSON
// report gives it.
type Summary struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	// Approx is set when the percentiles come from the histogram (more
	// samples than a Recorder keeps), within about 1.6% of the true value.
	Approx bool `json:"approx,omitempty"`
}

// Recorder collects durations from many goroutines: every sample exactly,
// up to maxSamples, and a log-linear histogram of all of them, so that its
// memory is bounded however long the run.
type Recorder struct {
	mu      sync.Mutex
	samples []time.Duration
	hist    histogram
	n       int
	sum     time.Duration
	max     time.Duration
	limit   int
}

// NewRecorder returns an empty Recorder that keeps up to limit exact
// samples (maxSamples if limit <= 0).
func NewRecorder(limit int) *Recorder {
	if limit <= 0 {
		limit = maxSamples
	}
	return &Recorder{limit: limit}
}

// Add records one duration; a negative one (clocks disagree) counts as 0.
func (r *Recorder) Add(d time.Duration) {
	d = max(d, 0)
	r.mu.Lock()
	r.n++
	r.sum += d
	r.max = max(r.max, d)
	if len(r.samples) < r.limit {
		r.samples = append(r.samples, d)
	}
	r.hist.add(d)
	r.mu.Unlock()
}

// Count is the number of durations recorded.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Summary returns the distribution so far.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{N: r.n, Max: ms(r.max)}
	if r.n == 0 {
		return s
	}
	s.Mean = ms(r.sum / time.Duration(r.n))
	if len(r.samples) == r.n {
		sorted := slices.Clone(r.samples)
		slices.Sort(sorted)
		s.P50, s.P90, s.P99 = ms(Percentile(sorted, 50)), ms(Percentile(sorted, 90)), ms(Percentile(sorted, 99))
		return s
	}
	s.Approx = true
	s.P50, s.P90, s.P99 = ms(r.hist.percentile(50)), ms(r.hist.percentile(90)), ms(r.hist.percentile(99))
	return s
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted, by the
// nearest-rank method: the smallest sample such that at least p% of the
// samples are less than or equal to it. It returns 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ms converts d to milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// histogram is a log-linear histogram of durations in nanoseconds: values
// below 64 ns have a bucket each; above, each power of two is cut into 64
// buckets, so a bucket is at most 1/64 of its value wide.
type histogram struct {
	counts [64 * 64]uint64
	n      uint64
}

const subBits = 6 // 64 sub-buckets per power of two

func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	exp := 63 - bits.LeadingZeros64(v) // v in [2^exp, 2^(exp+1))
	sub := (v >> (uint(exp) - subBits)) & (1<<subBits - 1)
	return (exp-subBits+1)<<subBits | int(sub)
}

// bucketMid is the middle of bucket b's range.
func bucketMid(b int) uint64 {
	if b < 1<<subBits {
		return uint64(b)
	}
	exp := uint(b>>subBits) + subBits - 1
	sub := uint64(b & (1<<subBits - 1))
	lo := uint64(1)<<exp | sub<<(exp-subBits)
	return lo + uint64(1)<<(exp-subBits)/2
}

func (h *histogram) add(d time.Duration) {
	b := bucketOf(uint64(d))
	if b >= len(h.counts) {
		b = len(h.counts) - 1
	}
	h.counts[b]++
	h.n++
}

// percentile is Percentile over the histogram: the middle of the bucket
// that holds the nearest-rank sample.
func (h *histogram) percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p / 100 * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(bucketMid(b))
		}
	}
	return 0
}
