package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain is also udpchat-server, as the bench binary is, for the tests
// that spawn nodes: they re-execute the test binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == nodeCommand {
		os.Exit(runNode(os.Args[2:], os.Stdin, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// TestRelayInproc runs the whole bench in-process, small: every delivery
// must be counted exactly once, and the JSON line must say so.
func TestRelayInproc(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"v2 stop-and-wait", nil},
		{"v1", []string{"-proto", "1"}},
		{"v2 window", []string{"-reliability", "window", "-inflight", "8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r, last, _ := runBench(ctx, t, append([]string{"-server", "inproc", "-n", "3", "-m", "20", "-size", "100",
				"-keys", "2", "-floor=false", "-drain", "5s", "-timeout", "50s"}, tc.args...))
			x := r.Relay
			switch {
			case !r.OK || x == nil || r.Connect == nil || r.Server == nil:
				t.Fatalf("incomplete result: %s", last)
			case r.Connect.Connected != 3 || r.Connect.Latency.N != 3:
				t.Errorf("connected %d, handshake samples %d, want 3", r.Connect.Connected, r.Connect.Latency.N)
			case x.Sent != 60 || x.Acked != 60 || x.Failed != 0 || x.Unresolved != 0:
				t.Errorf("sent %d acked %d failed %d unresolved %d, want 60 60 0 0", x.Sent, x.Acked, x.Failed, x.Unresolved)
			case x.Expected != 120 || x.Deliveries != 120 || x.Lost != 0:
				t.Errorf("expected %d deliveries %d lost %d, want 120 120 0", x.Expected, x.Deliveries, x.Lost)
			case x.Duplicates != 0 || x.OutOfOrder != 0 || x.Unacked != 0:
				t.Errorf("duplicates %d, out of order %d, unacked %d, want none", x.Duplicates, x.OutOfOrder, x.Unacked)
			case x.Latency.N != 120 || x.Latency.P50 <= 0 || x.Latency.P99 < x.Latency.P50 || x.Latency.Max < x.Latency.P99:
				t.Errorf("latency %+v", x.Latency)
			case r.Wire == nil || r.Wire.TxDatagrams < 60 || r.Wire.RxBytes == 0:
				t.Errorf("wire %+v", r.Wire)
			case r.Server.Stats == nil || r.Server.Stats.Accepted != 60:
				t.Errorf("server stats %+v", r.Server.Stats)
			}
			// The stable field names scripts read.
			var top map[string]json.RawMessage
			json.Unmarshal(last, &top)
			var relay map[string]any
			json.Unmarshal(top["relay"], &relay)
			for _, k := range []string{"deliveries_per_s", "msgs_per_s", "lost", "duplicates", "out_of_order", "latency_ms", "retransmissions"} {
				if _, ok := relay[k]; !ok {
					t.Errorf("relay has no %q", k)
				}
			}
			for _, k := range []string{"mode", "ok", "config", "server", "connect", "wire", "bench_cpu_s"} {
				if _, ok := top[k]; !ok {
					t.Errorf("result has no %q", k)
				}
			}
		})
	}
}

// runBench runs the bench with args, which must exit 0, and returns its
// JSON line, parsed and as printed, and the summary it wrote for people.
func runBench(ctx context.Context, t *testing.T, args []string) (r Result, last []byte, summary string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := benchMain(ctx, args, &stdout, &stderr, false); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last = []byte(lines[len(lines)-1])
	if err := json.Unmarshal(last, &r); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, stdout.String())
	}
	return r, last, stderr.String()
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 50, 7 * time.Millisecond},
		{"one p99", ms(7), 99, 7 * time.Millisecond},
		{"two p50", ms(1, 2), 50, time.Millisecond},
		{"two p51", ms(1, 2), 51, 2 * time.Millisecond},
		{"four p90", ms(1, 2, 3, 4), 90, 4 * time.Millisecond},
		{"hundred p50", ms(hundred...), 50, 50 * time.Millisecond},
		{"hundred p90", ms(hundred...), 90, 90 * time.Millisecond},
		{"hundred p99", ms(hundred...), 99, 99 * time.Millisecond},
		{"hundred p100", ms(hundred...), 100, 100 * time.Millisecond},
		{"tiny p", ms(1, 2, 3), 0.001, time.Millisecond},
	} {
		if got := Percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("%s: Percentile(p%g) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

// TestHistogram checks the histogram's percentiles stay within its
// resolution of the exact ones, as a Recorder past its sample limit uses.
func TestHistogram(t *testing.T) {
	r := NewRecorder(10)
	var all []time.Duration
	for i := 1; i <= 10000; i++ {
		d := time.Duration(i*i) * time.Microsecond / 7
		r.Add(d)
		all = append(all, d)
	}
	s := r.Summary()
	if !s.Approx || s.N != 10000 {
		t.Fatalf("summary %+v: want approx over 10000", s)
	}
	for _, c := range []struct {
		p   float64
		got float64
	}{{50, s.P50}, {90, s.P90}, {99, s.P99}} {
		want := ms(Percentile(all, c.p)) // all is sorted: i*i grows
		if c.got < want*0.98 || c.got > want*1.02 {
			t.Errorf("p%g = %v ms, exact %v ms", c.p, c.got, want)
		}
	}
}

func TestMessageRoundTrip(t *testing.T) {
	now := time.Unix(1700000000, 123456789)
	for _, size := range []int{1, 40, 64, 1000} {
		text := formatMessage(17, 4242, now, size)
		if len(text) < size {
			t.Errorf("size %d: text of %d bytes", size, len(text))
		}
		s, q, sent, ok := parseMessage(text)
		if !ok || s != 17 || q != 4242 || !sent.Equal(now) {
			t.Errorf("size %d: parse(%q) = %d %d %v %v", size, text, s, q, sent, ok)
		}
	}
	for _, bad := range []string{"", "hello", "B1 2", "Bx 2 3 ", "B-1 2 3 "} {
		if _, _, _, ok := parseMessage(bad); ok {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
	var s seqSet
	for _, c := range []struct {
		seq      int
		dup, ooo bool
	}{{0, false, false}, {2, false, false}, {1, false, true}, {2, true, false}, {70, false, false}} {
		if dup, ooo := s.arrival(c.seq); dup != c.dup || ooo != c.ooo {
			t.Errorf("arrival(%d) = %v %v, want %v %v", c.seq, dup, ooo, c.dup, c.ooo)
		}
	}
	if s.distinct != 4 || !s.has(70) || s.has(3) {
		t.Errorf("set %+v", s)
	}
}

// TestThinkTime: pauses keep the mean asked for, stay within the jitter,
// and really vary, or clients fall into lockstep.
func TestThinkTime(t *testing.T) {
	const mean = 20 * time.Millisecond
	for _, tc := range []struct {
		jitter   float64
		first    bool
		min, max time.Duration // the range draws must fall in, [min, max)
		avg      time.Duration // 0: not checked
	}{
		{jitter: 0.5, min: 10 * time.Millisecond, max: 30 * time.Millisecond, avg: mean},
		{jitter: 1, min: 0, max: 2 * mean, avg: mean},
		{jitter: 0, min: mean, max: mean + 1, avg: mean},
		{jitter: 0.5, first: true, min: 0, max: mean, avg: mean / 2},
	} {
		const n = 10000
		lo, hi, sum := time.Duration(1<<62), time.Duration(0), time.Duration(0)
		for range n {
			d := thinkTime(mean, tc.jitter, tc.first)
			lo, hi, sum = min(lo, d), max(hi, d), sum+d
		}
		if lo < tc.min || hi >= tc.max {
			t.Errorf("jitter %g first %v: pauses from %v to %v, want within [%v, %v)", tc.jitter, tc.first, lo, hi, tc.min, tc.max)
		}
		if avg := sum / n; avg < tc.avg*98/100 || avg > tc.avg*102/100 {
			t.Errorf("jitter %g first %v: mean pause %v, want %v", tc.jitter, tc.first, avg, tc.avg)
		}
		// Uniform draws reach near both ends of their range.
		if width := tc.max - tc.min; width > 1 && (lo > tc.min+width/20 || hi < tc.max-width/20) {
			t.Errorf("jitter %g first %v: pauses only from %v to %v", tc.jitter, tc.first, lo, hi)
		}
	}
	if _, err := parseFlags([]string{"-think", "20ms", "-think-jitter", "1.5"}, io.Discard, false); err == nil || !strings.Contains(err.Error(), "-think-jitter") {
		t.Errorf("-think-jitter 1.5: error %v, want one naming the flag", err)
	}
}
