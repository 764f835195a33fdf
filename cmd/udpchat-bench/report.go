package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/server"
)

// Result is the JSON object a run prints as its last line on standard
// output. Its field names are stable; the package comment documents them.
type Result struct {
	Mode  string `json:"mode"`
	Start string `json:"start"` // RFC 3339
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`

	Config *RunConfig   `json:"config,omitempty"`
	Floor  *FloorResult `json:"floor,omitempty"`
	Server *ServerInfo  `json:"server,omitempty"`

	Connect   *ConnectResult   `json:"connect,omitempty"`
	Relay     *RelayResult     `json:"relay,omitempty"`
	Handshake *HandshakeResult `json:"handshake,omitempty"`
	Idle      *IdleResult      `json:"idle,omitempty"`
	Wire      *Wire            `json:"wire,omitempty"`
	// Faults are what the clients' fault transports did, when they are
	// behind one.
	Faults *FaultStats `json:"faults,omitempty"`

	BenchCPU float64  `json:"bench_cpu_s"` // this process's CPU time, clients included
	Notes    []string `json:"notes,omitempty"`
}

// RunConfig echoes what was asked for.
type RunConfig struct {
	Clients     int     `json:"clients"`
	Senders     int     `json:"senders"`
	Messages    int     `json:"messages"`
	Size        int     `json:"size"`
	Proto       uint8   `json:"proto"`
	Codec       string  `json:"codec"`
	Suite       string  `json:"suite"`
	Reliability string  `json:"reliability"`
	Inflight    int     `json:"inflight"`
	ThinkMS     float64 `json:"think_ms"`
	ThinkJitter float64 `json:"think_jitter,omitempty"`
	Rate        float64 `json:"rate"`
	// Faults are the transport/fault settings every client is behind,
	// both ways; absent when the clients are on plain UDP.
	Faults *FaultConfig `json:"faults,omitempty"`
	// Nodes and Broker are the udpchat-servers spawned (-nodes, -broker):
	// how many, and their broker.mode; absent for the bench's own server.
	Nodes  int    `json:"nodes,omitempty"`
	Broker string `json:"broker,omitempty"`
}

// ServerInfo is what the bench could see of the server.
type ServerInfo struct {
	Kind string `json:"kind"` // spawn, inproc or external
	Addr string `json:"addr"`
	// Separate is true when the figures below are the server process's
	// alone (spawn, or external with -server-pid).
	Separate bool    `json:"separate"`
	CPU      float64 `json:"cpu_s"`   // over the measured phase
	CPUPct   float64 `json:"cpu_pct"` // of one core, over the measured phase
	RSSKiB   uint64  `json:"rss_kib"`
	HWMKiB   uint64  `json:"hwm_kib"` // peak RSS over the whole run
	Stats    *Stats  `json:"stats,omitempty"`
	// Nodes are each node's figures, with -nodes or -broker; those above
	// are then their sums.
	Nodes []NodeInfo `json:"nodes,omitempty"`
	// ReadySeconds is how long the nodes took, once started, to take a
	// client each and pass a message between them.
	ReadySeconds float64 `json:"ready_s,omitempty"`
}

// NodeInfo is one node's CPU over the measured phase and its memory.
type NodeInfo struct {
	Addr   string  `json:"addr"`
	CPU    float64 `json:"cpu_s"`
	CPUPct float64 `json:"cpu_pct"`
	RSSKiB uint64  `json:"rss_kib"`
	HWMKiB uint64  `json:"hwm_kib"`
}

// Stats are server.Stats, with JSON names.
type Stats struct {
	Received   uint64 `json:"received"`
	Dropped    uint64 `json:"dropped"`
	Accepted   uint64 `json:"accepted"`
	Relayed    uint64 `json:"relayed"`
	Bundled    uint64 `json:"bundled"`
	Sessions   int    `json:"sessions"`
	Handshakes uint64 `json:"handshakes"`
}

func statsOf(s *server.Stats) *Stats {
	if s == nil {
		return nil
	}
	return &Stats{Received: s.Received, Dropped: s.Dropped, Accepted: s.Accepted, Relayed: s.Relayed,
		Bundled: s.Bundled, Sessions: s.Sessions, Handshakes: s.Handshake}
}

// ConnectResult is the clients' handshakes.
type ConnectResult struct {
	Clients   int            `json:"clients"`
	Connected int64          `json:"connected"`
	Failed    int64          `json:"failed"`
	Seconds   float64        `json:"seconds"`
	PerSec    float64        `json:"per_s"`
	Latency   Summary        `json:"latency_ms"`
	Versions  map[string]int `json:"versions"` // protocol version: clients
}

// RelayCPU is the CPU the relay phase took, in seconds over its length:
// the server's (as in ServerInfo), the bench's own (its clients), and the
// rest of the machine's, which the two competed with.
type RelayCPU struct {
	Seconds float64 `json:"seconds"`
	Cores   int     `json:"cores"`
	Busy    float64 `json:"busy_cores"`    // every process's, averaged over Seconds
	Server  float64 `json:"server_cores"`  // the server's
	Clients float64 `json:"clients_cores"` // this process's: the clients'
	Others  float64 `json:"others_cores"`  // the rest of busy
}

// RelayResult is the message phase.
type RelayResult struct {
	Seconds          float64 `json:"seconds"`      // first send to last delivery
	SendSeconds      float64 `json:"send_seconds"` // first send to last acknowledgement
	Sent             int64   `json:"sent"`
	Acked            int64   `json:"acked"`
	Failed           int64   `json:"failed"`
	Unresolved       int64   `json:"unresolved"` // neither acknowledged nor given up on at the end
	MsgsPerSec       float64 `json:"msgs_per_s"` // acknowledged a second
	Expected         int64   `json:"expected"`   // acked × (clients - 1)
	Deliveries       int64   `json:"deliveries"` // distinct acknowledged messages received
	DeliveriesPerSec float64 `json:"deliveries_per_s"`
	Lost             int64   `json:"lost"` // expected - deliveries
	Duplicates       int64   `json:"duplicates"`
	OutOfOrder       int64   `json:"out_of_order"`
	Unacked          int64   `json:"unacked_received"` // received, though never acknowledged to their sender
	Notices          int64   `json:"notices"`          // other messages received: joins, leaves
	Latency          Summary `json:"latency_ms"`       // send to delivery
	// FloorFraction is deliveries_per_s / floor.received_per_s.
	FloorFraction float64 `json:"floor_fraction,omitempty"`
	// CPU is where the machine's CPU went while the messages were sent
	// and delivered; absent where /proc is not.
	CPU *RelayCPU `json:"cpu,omitempty"`
	// Retransmissions are the clients' datagrams sent again byte for byte
	// (DATA retransmissions, retried KEY_REQs); ServerRetransmissions the
	// server's that reached the clients.
	Retransmissions       uint64 `json:"retransmissions"`
	ServerRetransmissions uint64 `json:"server_retransmissions_seen"`
	// ClientFailures are clients whose session ended before the bench
	// stopped them (the server gave up on them, or they on it), and
	// ClientError the first one's error.
	ClientFailures int    `json:"client_failures"`
	ClientError    string `json:"client_error,omitempty"`
	// ServerSessionsEnded are the connected clients the server no longer
	// had a session for when it stopped (before the clients): sessions it
	// ended, whether or not the client noticed. Absent when the server's
	// counters are not known (an external server).
	ServerSessionsEnded *int `json:"server_sessions_ended,omitempty"`
	// Gaps are the runs of consecutive acknowledged messages of one sender
	// that a recipient never received, summed over recipients; LongestGap
	// the longest of them.
	Gaps       int64 `json:"gaps"`
	LongestGap int64 `json:"longest_gap"`
	// PerRecipient is the spread of each recipient's lost, duplicates and
	// gaps, and the worst recipient; Recipients each one's figures, when
	// there are at most maxRecipientsListed clients. The totals above are
	// their sums.
	PerRecipient *RecipientsSummary `json:"per_recipient,omitempty"`
	Recipients   []RecipientFigures `json:"recipients,omitempty"`
}

// IdleResult is the server's memory per idle session. A spawned server
// collects its garbage and returns it to the kernel (debug.FreeOSMemory)
// before each reading, so RSS is live memory, not what the burst of join
// notices left behind; the peak is the whole run's.
type IdleResult struct {
	Clients         int     `json:"clients"`
	RSSBeforeKiB    uint64  `json:"rss_before_kib"`
	RSSAfterKiB     uint64  `json:"rss_after_kib"`
	BytesPerSession float64 `json:"bytes_per_session"`
	HWMKiB          uint64  `json:"hwm_kib"`
	// AllReached is true when every broadcast reached every other client.
	AllReached bool `json:"all_reached"`
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round2(x float64) float64 { return math.Round(x*100) / 100 }
func round3(x float64) float64 { return math.Round(x*1e3) / 1e3 }
func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// writeJSON prints r as one line.
func writeJSON(w io.Writer, r any) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeSummary prints r for people.
func writeSummary(w io.Writer, r *Result) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("udpchat-bench %s", r.Mode)
	if c := r.Config; c != nil && r.Mode != "floor" {
		p("  %d clients (%d sending %d × %d B), protocol %d, %s/%s/%s, inflight %d, think %gms ±%g%%, rate %g/s",
			c.Clients, c.Senders, c.Messages, c.Size, c.Proto, c.Codec, c.Suite, c.Reliability, c.Inflight, c.ThinkMS, 100*c.ThinkJitter, c.Rate)
		if c.Broker != "" {
			p("  %d udpchat-server nodes, broker %s, the clients spread over them", c.Nodes, c.Broker)
		}
		if f := c.Faults; f != nil {
			p("  faults on every client, each way: loss %g%%, duplicate %g%%, reorder %g%%, delay %gms + [0, %gms), seed %d",
				100*f.Loss, 100*f.Duplicate, 100*f.Reorder, f.DelayMS, f.JitterMS, f.Seed)
		}
	}
	if f := r.Floor; f != nil {
		p("  floor: %.0f datagrams/s received of %.0f/s sent (%d B, %.1f%% lost, %.1fs)",
			f.ReceivedPerSec, f.SentPerSec, f.Size, 100*f.Loss, f.Seconds)
	}
	if c := r.Connect; c != nil {
		p("  connect: %d/%d in %.2fs (%.0f/s), handshake ms p50 %.2f p90 %.2f p99 %.2f max %.2f, versions %v",
			c.Connected, c.Clients, c.Seconds, c.PerSec, c.Latency.P50, c.Latency.P90, c.Latency.P99, c.Latency.Max, c.Versions)
	}
	if x := r.Relay; x != nil {
		p("  sent %d, acked %d (%.0f/s), failed %d, unresolved %d", x.Sent, x.Acked, x.MsgsPerSec, x.Failed, x.Unresolved)
		p("  deliveries %d of %d (%.0f/s), lost %d, duplicates %d, out of order %d, unacked received %d",
			x.Deliveries, x.Expected, x.DeliveriesPerSec, x.Lost, x.Duplicates, x.OutOfOrder, x.Unacked)
		if s := x.PerRecipient; s != nil {
			w := s.Worst
			p("  per recipient (%d, min/median/max): lost %s, duplicates %s, gaps %s, longest gap %s; %d complete, %d sessions ended",
				s.Recipients, s.Lost, s.Duplicates, s.Gaps, s.LongestGap, s.Complete, s.SessionsEnded)
			p("  worst recipient b%d: %d of %d received, lost %d in %d gaps (longest %d), duplicates %d",
				w.ID, w.Received, w.Expected, w.Lost, w.Gaps, w.LongestGap, w.Duplicates)
		}
		p("  delivery latency ms: p50 %.3f p90 %.3f p99 %.3f max %.3f (n %d)", x.Latency.P50, x.Latency.P90, x.Latency.P99, x.Latency.Max, x.Latency.N)
		if x.FloorFraction > 0 {
			p("  deliveries/s = %.1f%% of the loopback floor", 100*x.FloorFraction)
		}
		p("  retransmissions: clients %d, server (seen) %d", x.Retransmissions, x.ServerRetransmissions)
		if x.ClientFailures > 0 {
			p("  %d clients lost their session during the run: %s", x.ClientFailures, x.ClientError)
		}
		if n := x.ServerSessionsEnded; n != nil && *n > 0 {
			p("  the server ended %d clients' sessions during the run", *n)
		}
	}
	if h := r.Handshake; h != nil {
		p("  KEY_REP %.0f/s: %d answered of %d KEY_REQs (v%d, %d sockets, %.2fs), %d unanswered, latency ms p50 %.2f p99 %.2f",
			h.PerSec, h.KeyReps, h.KeyReqs, h.Proto, h.Sockets, h.Seconds, h.Unanswered, h.Latency.P50, h.Latency.P99)
	}
	if i := r.Idle; i != nil {
		p("  idle: server RSS %d KiB before, %d KiB after %d sessions: %.0f B/session; peak %d KiB; broadcasts reached all: %v",
			i.RSSBeforeKiB, i.RSSAfterKiB, i.Clients, i.BytesPerSession, i.HWMKiB, i.AllReached)
	}
	if wr := r.Wire; wr != nil {
		p("  wire (clients): sent %d datagrams / %d B, received %d / %d B", wr.TxDatagrams, wr.TxBytes, wr.RxDatagrams, wr.RxBytes)
	}
	if f := r.Faults; f != nil {
		p("  faults done: of the clients' datagrams %d dropped, %d duplicated, %d reordered; of those to them %d dropped, %d duplicated, %d reordered",
			f.Send.Dropped, f.Send.Duplicated, f.Send.Reordered, f.Receive.Dropped, f.Receive.Duplicated, f.Receive.Reordered)
	}
	if s := r.Server; s != nil {
		if s.Separate {
			p("  server (%s %s): CPU %.2fs (%.0f%% of a core), RSS %d KiB, peak %d KiB", s.Kind, s.Addr, s.CPU, s.CPUPct, s.RSSKiB, s.HWMKiB)
		} else {
			p("  server (%s %s): CPU and memory not separable from the bench's", s.Kind, s.Addr)
		}
		if s.ReadySeconds > 0 {
			p("  nodes ready (a client on each, a message across) in %.2fs", s.ReadySeconds)
		}
		for i, n := range s.Nodes {
			p("    node %d (%s): CPU %.2fs (%.0f%% of a core), RSS %d KiB, peak %d KiB", i, n.Addr, n.CPU, n.CPUPct, n.RSSKiB, n.HWMKiB)
		}
		if st := s.Stats; st != nil {
			p("  server counters: received %d, dropped %d, accepted %d, relayed %d, bundled %d, handshakes %d", st.Received, st.Dropped, st.Accepted, st.Relayed, st.Bundled, st.Handshakes)
		}
	}
	if c := r.Relay.cpuOrNil(); c != nil {
		p("  relay CPU, cores busy of %d: %.2f (server %.2f, clients %.2f, others %.2f)", c.Cores, c.Busy, c.Server, c.Clients, c.Others)
	}
	p("  bench CPU %.2fs", r.BenchCPU)
	for _, n := range r.Notes {
		p("  note: %s", n)
	}
	if r.Error != "" {
		p("  error: %s", r.Error)
	}
}

// Comparison is the last line of a run of several brokers (-broker
// memory,embedded), after each run's own: every run again, for a script
// that reads one line.
type Comparison struct {
	Mode    string          `json:"mode"` // compare
	Runs    []*Result       `json:"runs"`
	Brokers []BrokerSummary `json:"brokers"` // each broker's runs, in the order first run
}

// BrokerSummary is one broker's runs of a comparison: the median and the
// range of its deliveries a second, its median server CPU per delivery,
// and its median's fraction of the first broker's.
type BrokerSummary struct {
	Broker              string  `json:"broker"`
	Runs                int     `json:"runs"`
	DeliveriesPerSec    float64 `json:"deliveries_per_s"` // median
	MinDeliveriesPerSec float64 `json:"min_deliveries_per_s"`
	MaxDeliveriesPerSec float64 `json:"max_deliveries_per_s"`
	CPUPerDeliveryUS    float64 `json:"cpu_us_per_delivery"` // median
	OfFirst             float64 `json:"of_first"`
}

// summarizeBrokers gathers a comparison's complete runs by broker.
func summarizeBrokers(rs []*Result) []BrokerSummary {
	var order []string
	rates, cpus := map[string][]float64{}, map[string][]float64{}
	for _, r := range rs {
		if r.Config == nil || r.Relay == nil || r.Server == nil || r.Relay.Deliveries == 0 {
			continue
		}
		b := r.Config.Broker
		if _, seen := rates[b]; !seen {
			order = append(order, b)
		}
		rates[b] = append(rates[b], r.Relay.DeliveriesPerSec)
		cpus[b] = append(cpus[b], cpuPerDelivery(r.Relay, r.Server))
	}
	var out []BrokerSummary
	for _, b := range order {
		x := rates[b]
		s := BrokerSummary{Broker: b, Runs: len(x), DeliveriesPerSec: round3(median(x)),
			MinDeliveriesPerSec: slices.Min(x), MaxDeliveriesPerSec: slices.Max(x), CPUPerDeliveryUS: round3(median(cpus[b]))}
		first := s.DeliveriesPerSec // a run counts only with deliveries: never 0
		if len(out) > 0 {
			first = out[0].DeliveriesPerSec
		}
		s.OfFirst = round3(s.DeliveriesPerSec / first)
		out = append(out, s)
	}
	return out
}

// cpuPerDelivery is the server's CPU per delivery of a relay, in µs.
func cpuPerDelivery(x *RelayResult, s *ServerInfo) float64 {
	if x.Deliveries == 0 {
		return 0
	}
	return 1e6 * s.CPU / float64(x.Deliveries)
}

// median is the middle of x (the mean of the two middle ones if even).
func median(x []float64) float64 {
	s := slices.Sorted(slices.Values(x))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else if n > 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return 0
}

// writeComparison sets the runs of several brokers side by side: the
// relay's rates and latency, and what the server spent on it.
func writeComparison(w io.Writer, rs []*Result) {
	fmt.Fprintf(w, "udpchat-bench: brokers compared\n")
	fmt.Fprintf(w, "  %-9s %12s %12s %10s %10s %12s %14s %10s\n", "broker", "msgs/s", "deliveries/s", "p50 ms", "p99 ms", "server CPU s", "µs/delivery", "RSS KiB")
	for _, r := range rs {
		x, s := r.Relay, r.Server
		broker := "?"
		if r.Config != nil {
			broker = r.Config.Broker
		}
		if x == nil || s == nil {
			fmt.Fprintf(w, "  %-9s incomplete: %s\n", broker, r.Error)
			continue
		}
		fmt.Fprintf(w, "  %-9s %12.0f %12.0f %10.3f %10.3f %12.2f %14.1f %10d\n", broker, x.MsgsPerSec, x.DeliveriesPerSec,
			x.Latency.P50, x.Latency.P99, s.CPU, cpuPerDelivery(x, s), s.RSSKiB)
	}
	sum := summarizeBrokers(rs)
	if len(sum) == 0 || sum[0].Runs < 2 {
		return
	}
	fmt.Fprintf(w, "  medians of the rounds:\n")
	for _, b := range sum {
		fmt.Fprintf(w, "  %-9s %d runs, deliveries/s %.0f (%.0f to %.0f), µs/delivery %.1f, %.0f%% of %s's\n",
			b.Broker, b.Runs, b.DeliveriesPerSec, b.MinDeliveriesPerSec, b.MaxDeliveriesPerSec, b.CPUPerDeliveryUS, 100*b.OfFirst, sum[0].Broker)
	}
}

// isTerminal reports whether f is a character device: a terminal, near
// enough, without a dependency.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar redraws one line on a terminal: a phase, a bar, a count and a
// rate. A nil *progressBar does nothing.
type progressBar struct {
	w     io.Writer
	mu    sync.Mutex
	phase string
	total int64
	done  func() int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	drawn atomic.Bool
}

// newProgress starts redrawing on w, or returns nil if w should not get a
// bar.
func newProgress(w io.Writer, on bool) *progressBar {
	if !on {
		return nil
	}
	b := &progressBar{w: w, stop: make(chan struct{})}
	b.wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.draw()
			}
		}
	})
	return b
}

// set starts a phase whose progress is done() out of total.
func (b *progressBar) set(phase string, total int64, done func() int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.phase, b.total, b.done, b.start = phase, total, done, time.Now()
	b.mu.Unlock()
}

func (b *progressBar) draw() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done == nil {
		return
	}
	n := b.done()
	frac := 0.0
	if b.total > 0 {
		frac = min(float64(n)/float64(b.total), 1)
	}
	const width = 30
	fill := int(frac * width)
	rate := float64(n) / max(time.Since(b.start).Seconds(), 1e-9)
	fmt.Fprintf(b.w, "\r\033[K%-10s [%s%s] %5.1f%% %d/%d %.0f/s",
		b.phase, strings.Repeat("#", fill), strings.Repeat(".", width-fill), 100*frac, n, b.total, rate)
	b.drawn.Store(true)
}

// close stops the bar and clears its line.
func (b *progressBar) close() {
	if b == nil {
		return
	}
	close(b.stop)
	b.wg.Wait()
	if b.drawn.Load() {
		fmt.Fprint(b.w, "\r\033[K")
	}
}

// cpuOrNil is x's CPU figures, if x and they are there.
func (x *RelayResult) cpuOrNil() *RelayCPU {
	if x == nil {
		return nil
	}
	return x.CPU
}
