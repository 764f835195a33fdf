package plugins

import (
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/internal/histogram"
)

// Stats is what a plugin has done, for metrics: counted from its start,
// across its restarts.
type Stats struct {
	Name  string
	State string // as State reports it
	// Calls are the calls the server made to the plugin: messages, room
	// events and commands.
	Calls uint64
	// Failures are the calls that failed: an error, a timeout, the plugin
	// not running, or an answer that makes no sense. A call the server
	// gave up on (its handler deadline, its shutdown) is none.
	Failures uint64
	// Latency is the time the calls that reached the plugin's process
	// took, in seconds.
	Latency histogram.Snapshot
}

// callStats counts a plugin's calls, with atomics: they are made on the
// server's handler worker, for every message.
type callStats struct {
	calls, failures atomic.Uint64
	latency         *histogram.Histogram // nanoseconds
}

func newCallStats() callStats {
	return callStats{latency: histogram.New(histogram.Nanoseconds, histogram.Seconds...)}
}

// took counts a call that reached the process, from start.
func (c *callStats) took(start time.Time) {
	c.latency.Observe(time.Since(start).Nanoseconds())
}

// Stats returns what the plugin has done so far.
func (p *Plugin) Stats() Stats {
	return Stats{
		Name:     p.cfg.Name,
		State:    p.State(),
		Calls:    p.stats.calls.Load(),
		Failures: p.stats.failures.Load(),
		Latency:  p.stats.latency.Snapshot(),
	}
}

// Stats returns each plugin's Stats, in order.
func (s *Set) Stats() []Stats {
	out := make([]Stats, len(s.plugins))
	for i, p := range s.plugins {
		out[i] = p.Stats()
	}
	return out
}
