// Command udpchat-bench is a load generator for udpchat: it starts N
// simulated clients (client.Client, each on its own UDP socket on 127.0.0.1)
// in one process against a server, runs their handshakes, has them send M
// messages of B bytes each, and reports what it measured: handshake
// latency, messages acknowledged a second, deliveries a second, delivery
// latency percentiles, losses, duplicates, out-of-order deliveries,
// retransmissions, bytes on the wire, and the server's CPU and memory where
// it can see them. It prints a summary on standard error (with a progress
// bar on a terminal) and, as the last line of standard output, one JSON
// object with every figure, for scripts.
//
// Usage:
//
//	udpchat-bench [MODE] [flags]
//
// Modes:
//
//	relay      (default) N clients, each sending M messages to the room;
//	           each receiver checks every message of every other client.
//	floor      this machine's loopback UDP datagram rate alone: one socket
//	           blasting B-byte datagrams at another for -floor-time. A relay
//	           run measures it first too (unless -floor=false), and states
//	           its deliveries/s as a fraction of it.
//	handshake  the server's KEY_REQ throughput: precomputed KEY_REQs from
//	           -hs-sockets sockets, each with one in flight and a different
//	           key each time, KEY_REPs counted, never decrypted.
//	idle       N clients connect and stay idle; -senders of them send -m
//	           messages, which must reach all the others; the server's RSS
//	           before and after gives its memory per idle session.
//
// -nodes N spawns N udpchat-servers instead (this binary again, as
// cmd/servercmd, each from a configuration file it writes in a temporary
// directory), forming an embedded NATS cluster on 127.0.0.1; it waits
// until each takes a client and a message crosses between them, then
// gives client i to node i mod N. -broker memory|embedded picks their
// broker.mode (embedded, the only one that clusters, by default), one node
// unless -nodes says; -broker memory,embedded runs the relay with each and
// prints both, then a comparison; -rounds N runs the brokers N times over,
// alternating, and compares their medians, so that the machine's moods
// fall on each alike.
//
// The server (-server): "spawn" (default) re-executes this binary as a
// child running a server.Server, so that its CPU (utime+stime) and memory
// (VmRSS, VmHWM) are read from /proc apart from the clients'; "inproc" runs
// it in this process (its CPU and memory are then not separable); HOST:PORT
// is any server, a seed server speaking only version 1 included (its CPU
// and memory only with -server-pid). The bench's own server is set up for
// load: a fresh Ed25519 identity (version 2), no message rate limit, no
// handshake limit, no history, room for every client, logging at warn.
//
// The figures of the performance work, with the default JSON codec and
// suite rsa-aes-cbc-hmac:
//
//	udpchat-bench -n 20 -m 1000 -size 64                    # 1. relay capacity, back to back
//	udpchat-bench -n 20 -m 1000 -size 64 -proto 1           #    the same in version 1
//	udpchat-bench -n 20 -m 1000 -size 64 -reliability window -inflight 16
//	udpchat-bench -n 20 -m 500 -think 20ms -floor=false -procs 1  # 2. latency, 20 ms think time
//	udpchat-bench handshake -hs-count 20000                 # 3. KEY_REQs a second
//	udpchat-bench idle -n 1000                              #    memory per idle session
//	udpchat-bench idle -n 10000
//
// Faults: -loss, -dup, -reorder (probabilities), -delay and -jitter
// (durations) put every client of relay and idle behind transport/fault,
// the same faults both ways, so a client's round trip to the server is
// twice -delay; client i draws them from its own seed, derived from
// -fault-seed. The server's socket is left alone.
//
// -cpuprofile FILE profiles the spawned server (with -nodes or -broker,
// each node, to FILE.<broker>.<node>); the environment variable
// UDPCHAT_BENCH_CPUPROFILE=FILE profiles the bench's own process, the
// clients' side; UDPCHAT_BENCH_TRACE=FILE writes its execution trace.
//
// The JSON object's fields (omitted where the mode does not measure them):
//
//	mode, start, ok, error        the mode, its start (RFC 3339), whether it completed
//	config                        clients, senders, messages, size, proto, codec,
//	                              suite, reliability, inflight, think_ms,
//	                              think_jitter, rate, faults {loss, duplicate,
//	                              reorder, delay_ms, jitter_ms, seed} (with -loss etc.),
//	                              nodes, broker (with -nodes or -broker)
//	floor                         size, seconds, sent, received, sent_per_s,
//	                              received_per_s, loss (fraction)
//	server                        kind (spawn|inproc|external|nodes), addr, separate (the
//	                              figures are the server's own), cpu_s and cpu_pct
//	                              (of one core) over the measured phase, rss_kib,
//	                              hwm_kib (peak RSS), stats (the server's counters:
//	                              received, dropped, accepted, relayed, bundled,
//	                              sessions, handshakes; spawn and inproc only); with
//	                              nodes, their sums, ready_s (until a message crossed)
//	                              and nodes (each: addr, cpu_s, cpu_pct, rss_kib, hwm_kib)
//	connect                       clients, connected, failed, seconds, per_s,
//	                              latency_ms {n, mean, p50, p90, p99, max}, versions
//	relay                         seconds (first send to last delivery),
//	                              send_seconds, sent, acked, failed, unresolved,
//	                              msgs_per_s (acked a second), expected (acked ×
//	                              (clients-1)), deliveries (distinct), deliveries_per_s,
//	                              lost, duplicates, out_of_order, unacked_received,
//	                              notices, latency_ms (send to delivery),
//	                              floor_fraction, cpu {seconds, cores, busy_cores (the
//	                              whole machine's), server_cores, clients_cores (this
//	                              process), others_cores (the rest)} over the relay,
//	                              retransmissions (client datagrams
//	                              sent again byte for byte), server_retransmissions_seen,
//	                              client_failures, client_error, server_sessions_ended
//	                              (connected clients the server had no session for at
//	                              its stop; spawn and inproc only), gaps (runs of
//	                              consecutive acked messages of one sender a recipient
//	                              missed, summed), longest_gap, per_recipient
//	                              {recipients, lost, duplicates, gaps, longest_gap (each
//	                              {min, median, max}), complete, sessions_ended, worst},
//	                              recipients (up to 100: id, expected, received, lost,
//	                              duplicates, out_of_order, gaps, longest_gap,
//	                              unacked_received, session_ended); the totals are
//	                              the sums over recipients
//	handshake                     proto, sockets, seconds, key_reqs, key_reps,
//	                              key_reps_per_s, unanswered, other, cookies,
//	                              latency_ms
//	idle                          clients, rss_before_kib, rss_after_kib,
//	                              bytes_per_session, hwm_kib, all_reached
//	wire                          the clients' tx_datagrams, tx_bytes, rx_datagrams,
//	                              rx_bytes (UDP payload), tx_repeats, rx_repeats; with
//	                              faults, what the clients wrote and read, above them
//	faults                        what the clients' fault transports did, summed: send
//	                              and receive, each {sent, dropped, duplicated,
//	                              reordered, delayed}
//	bench_cpu_s, notes            this process's CPU time; caveats
//
// Percentiles are nearest-rank over every sample, up to 4 Mi samples, and
// from a log-linear histogram (within 1.6%) beyond ("approx": true).
//
// Exit status: 0 when the run completed, 1 when it could not, 2 on a bad
// command line. A run that completed with losses still exits 0: the JSON
// says so.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"
	"time"

	"github.com/udpchat/udpchat/cmd/internal/cli"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/internal/version"
	"github.com/udpchat/udpchat/reliability/window"
	"github.com/udpchat/udpchat/standard"
	"github.com/udpchat/udpchat/transport/fault"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == nodeCommand {
		os.Exit(runNode(os.Args[2:], os.Stdin, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		if err := runChild(os.Args[2:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "udpchat-bench server: %v\n", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(profiled(func() int { return benchMain(ctx, os.Args[1:], os.Stdout, os.Stderr, isTerminal(os.Stderr)) }))
}

// profiled runs run under the profiles the environment asks for: the
// clients' side of a run, where -cpuprofile is the server's.
// UDPCHAT_BENCH_CPUPROFILE=FILE writes a CPU profile; UDPCHAT_BENCH_TRACE=FILE
// an execution trace, whose scheduling latency (go tool trace -pprof=sched)
// says how long the clients' goroutines waited to run.
func profiled(run func() int) int {
	if path := os.Getenv("UDPCHAT_BENCH_TRACE"); path != "" {
		if f, err := os.Create(path); err == nil && trace.Start(f) == nil {
			defer f.Close()
			defer trace.Stop()
		}
	}
	if path := os.Getenv("UDPCHAT_BENCH_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	return run()
}

// modes are the first arguments that name a mode.
var modes = map[string]bool{"relay": true, "floor": true, "handshake": true, "idle": true}

// parseFlags reads the command line into Options.
func parseFlags(args []string, stderr io.Writer, tty bool) (Options, error) {
	o := Options{Mode: "relay"}
	if len(args) > 0 && modes[args[0]] {
		o.Mode, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("udpchat-bench", flag.ContinueOnError)
	showVersion := fs.Bool("version", false, "print the version, the commit it was built from, and exit")
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: udpchat-bench [relay|floor|handshake|idle] [flags]\n\n"+
			"A load generator for udpchat; `go doc ./cmd/udpchat-bench` documents the modes and the JSON report.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var proto uint
	var progress string
	fs.StringVar(&o.Server, "server", "spawn", "the server: `spawn` (a child process), inproc, or HOST:PORT")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "`PID` of an external server, to read its CPU and memory")
	fs.IntVar(&o.Nodes, "nodes", 0, "spawn `N` udpchat-servers forming an embedded NATS cluster on 127.0.0.1, the clients spread over them")
	fs.IntVar(&o.Rounds, "rounds", 1, "with -broker A,B: run the brokers this many times over, alternating, and compare medians")
	fs.StringVar(&o.Broker, "broker", "", "spawn udpchat-server with this broker.mode: `memory`, embedded, or memory,embedded to run and print both")
	fs.StringVar(&o.Server0.Codec, "server-codec", "", "the bench server's codec, auto for every one (default: -codec)")
	fs.IntVar(&o.Server0.RecipientQueue, "recipient-queue", 0, "the bench server's queue per version 2 recipient (0: core's default, 1024)")
	fs.StringVar(&o.Server0.LogLevel, "server-log-level", "warn", "the bench server's log level: debug, info, warn, error")
	fs.StringVar(&o.Server0.LogFile, "server-log", "-", "the bench server's log `FILE` (- for standard error)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write the spawned server's CPU profile to `FILE` (each node's to FILE.<broker>.<node>)")
	fs.StringVar(&o.Codec, "codec", "json", "codec, by its registered name")
	fs.StringVar(&o.Suite, "suite", "rsa-aes-cbc-hmac", "cipher suite, by its registered name")
	fs.StringVar(&o.Reliability, "reliability", "stop-and-wait", "reliability layer: stop-and-wait or window")
	fs.DurationVar(&o.RelConfig.RTO, "rto", 200*time.Millisecond, "retransmission timeout, both sides")
	fs.IntVar(&o.RelConfig.MaxRetries, "retries", 5, "retransmissions before a message is given up on")
	fs.IntVar(&o.RelConfig.Window, "window", window.DefaultWindow, "window layer: messages in flight")
	fs.IntVar(&o.RelConfig.Queue, "queue", 256, "messages a client may queue")
	fs.UintVar(&proto, "proto", 2, "highest protocol version the clients offer: 2 or 1")
	fs.IntVar(&o.Clients, "n", 20, "clients")
	fs.IntVar(&o.Senders, "senders", 0, "clients that send (default all; idle: 3)")
	fs.IntVar(&o.Messages, "m", 1000, "messages per sender (idle: 1)")
	fs.IntVar(&o.Size, "size", 64, "bytes per message text, and per floor datagram")
	fs.IntVar(&o.Inflight, "inflight", 0, "messages a sender has unacknowledged at once (default 1; window: 16)")
	fs.DurationVar(&o.Think, "think", 0, "mean pause after each acknowledgement before the next message")
	fs.Float64Var(&o.ThinkJitter, "think-jitter", 0.5, "each pause is uniform over -think × (1 ± this); 0 for a fixed pause")
	fs.Float64Var(&o.Rate, "rate", 0, "messages a second per sender, whatever the acknowledgements (0: back to back)")
	fs.IntVar(&o.Keys, "keys", 8, "RSA keys in the clients' pool")
	fs.IntVar(&o.Procs, "procs", 0, "GOMAXPROCS of the bench's own process, the clients' side (0: Go's default); a spawned server keeps its own")
	fs.IntVar(&o.HandshakeConcurrency, "hs-concurrency", 32, "client handshakes under way at once")
	fs.DurationVar(&o.HandshakeRTO, "hs-rto", time.Second, "client KEY_REQ retry timeout")
	fs.BoolVar(&o.Floor, "floor", true, "relay: measure the loopback floor first")
	fs.DurationVar(&o.FloorDuration, "floor-time", 2*time.Second, "how long the floor is measured")
	fs.IntVar(&o.HSSockets, "hs-sockets", 32, "handshake: sockets sending KEY_REQs")
	fs.IntVar(&o.HSCount, "hs-count", 20000, "handshake: KEY_REQs to send at most")
	fs.DurationVar(&o.HSTime, "hs-time", 10*time.Second, "handshake: how long to send at most")
	fs.DurationVar(&o.Drain, "drain", 2*time.Second, "end the wait for deliveries once none came for this long")
	fs.DurationVar(&o.Settle, "settle", 2*time.Second, "idle: wait before reading the server's memory")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "bound on the whole run")
	fs.StringVar(&progress, "progress", "auto", "progress bar on standard error: auto (on a terminal), on, off")
	fs.StringVar(&o.ClientLogFile, "client-log", "", "log the clients' warnings to `FILE` (- for standard error)")
	fs.Float64Var(&o.Faults.Loss, "loss", 0, "fault transport: probability that a client's datagram is lost, each way")
	fs.Float64Var(&o.Faults.Duplicate, "dup", 0, "fault transport: probability that a client's datagram is delivered twice, each way")
	fs.Float64Var(&o.Faults.Reorder, "reorder", 0, "fault transport: probability that a client's datagram is held back behind the next, each way")
	fs.DurationVar(&o.Faults.Delay, "delay", 0, "fault transport: delay added to each client's datagrams, each way (a round trip is twice this)")
	fs.DurationVar(&o.Faults.Jitter, "jitter", 0, "fault transport: a uniform random [0, this) added to -delay")
	fs.Uint64Var(&o.FaultSeed, "fault-seed", 1, "fault transport: the run's seed; each client draws its faults from its own seed derived from it")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *showVersion {
		return o, errVersion
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.Mode == "idle" {
		if !set["n"] {
			o.Clients = 1000
		}
		if !set["senders"] {
			o.Senders = 3
		}
		if !set["m"] {
			o.Messages = 1
		}
		// Thousands of clients on two cores answer late: the core's own
		// patience (the seed's 2 s), not a loopback test's.
		if !set["rto"] {
			o.RelConfig.RTO = 2 * time.Second
		}
	}
	if o.Mode != "relay" && !set["floor"] {
		o.Floor = false
	}
	if o.Inflight <= 0 {
		o.Inflight = 1
		if o.Reliability == "window" {
			o.Inflight = 16
		}
	}
	switch {
	case proto != 1 && proto != 2:
		return o, fmt.Errorf("-proto: want 1 or 2, got %d", proto)
	case o.Clients < 2 && (o.Mode == "relay" || o.Mode == "idle"):
		return o, errors.New("-n: at least 2 clients")
	case o.Messages < 0 || o.Size < 1:
		return o, errors.New("-m must not be negative and -size must be positive")
	case o.Rate > 0 && o.Think > 0:
		return o, errors.New("-rate and -think exclude each other")
	case o.ThinkJitter < 0 || o.ThinkJitter > 1:
		return o, fmt.Errorf("-think-jitter: want 0 to 1, got %g", o.ThinkJitter)
	case o.HSSockets < 1 || o.HSCount < 1:
		return o, errors.New("-hs-sockets and -hs-count must be positive")
	}
	if err := checkNodes(o, set["server"]); err != nil {
		return o, err
	}
	if err := checkFaults(o.Faults); err != nil {
		return o, err
	}
	if o.Faults != (fault.Faults{}) && o.Mode != "relay" && o.Mode != "idle" {
		return o, fmt.Errorf("-loss, -dup, -reorder, -delay, -jitter: the fault transport is for the clients of relay and idle, not %s", o.Mode)
	}
	o.Proto = uint8(proto)
	switch progress {
	case "auto":
		o.Progress = tty
	case "on", "off":
		o.Progress = progress == "on"
	default:
		return o, fmt.Errorf("-progress: want auto, on or off, got %q", progress)
	}
	return o, nil
}

// errVersion is parseFlags' answer to -version, which benchMain prints.
var errVersion = errors.New("version requested")

// benchMain is the program, minus the process: tests call it. It returns
// the exit status.
func benchMain(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	standard.Register()
	o, err := parseFlags(args, stderr, tty)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if errors.Is(err, errVersion) {
		fmt.Fprintln(stdout, version.String("udpchat-bench"))
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "udpchat-bench: %v\n", err)
		return 2
	}
	if o.ClientLogFile != "" {
		w, closeLog, err := cli.OpenLog(o.ClientLogFile, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "udpchat-bench: -client-log: %v\n", err)
			return 2
		}
		defer closeLog()
		o.ClientLog = w
	}
	if o.Procs > 0 {
		runtime.GOMAXPROCS(o.Procs)
	}
	var brokers []string
	for range o.Rounds {
		brokers = append(brokers, strings.Split(o.Broker, ",")...)
	}
	var results []*Result
	var errs []error
	for i, broker := range brokers {
		o := o
		o.Broker = broker
		if i > 0 {
			o.Floor = false // the machine's, measured once
		}
		r := &Result{}
		err := run(ctx, o, r, stderr)
		if i > 0 {
			r.Floor = results[0].Floor
		}
		r.BenchCPU = round3(testkit.ProcessCPU().Seconds())
		r.OK = err == nil
		if err != nil {
			r.Error = err.Error()
		}
		writeSummary(stderr, r)
		results, errs = append(results, r), append(errs, err)
	}
	var werr error
	if len(results) == 1 {
		werr = writeJSON(stdout, results[0])
	} else {
		writeComparison(stderr, results)
		for _, r := range results {
			if werr == nil {
				werr = writeJSON(stdout, r)
			}
		}
		if werr == nil {
			werr = writeJSON(stdout, &Comparison{Mode: "compare", Runs: results, Brokers: summarizeBrokers(results)})
		}
	}
	if werr != nil {
		fmt.Fprintf(stderr, "udpchat-bench: %v\n", werr)
		return 1
	}
	if errors.Join(errs...) != nil {
		return 1
	}
	return 0
}

// checkNodes checks -nodes, -broker and -rounds: udpchat-servers the bench
// spawns itself, only an embedded broker clusters, and rounds are of a
// comparison of brokers.
func checkNodes(o Options, serverSet bool) error {
	if o.Rounds < 1 || o.Rounds > 1 && !strings.Contains(o.Broker, ",") {
		return fmt.Errorf("-rounds: want 1, or more with -broker A,B to compare, got %d", o.Rounds)
	}
	if o.Nodes == 0 && o.Broker == "" {
		return nil
	}
	switch {
	case o.Nodes < 0:
		return fmt.Errorf("-nodes: want a number of nodes, got %d", o.Nodes)
	case serverSet && o.Server != "spawn":
		return fmt.Errorf("-nodes and -broker spawn their servers: not with -server %s", o.Server)
	}
	brokers := strings.Split(o.Broker, ",")
	for _, b := range brokers {
		switch {
		case o.Broker == "":
		case b != "memory" && b != "embedded":
			return fmt.Errorf("-broker: want memory or embedded, or both separated by a comma, got %q", b)
		case o.Nodes > 1 && b != "embedded":
			return fmt.Errorf("-broker %s: %d nodes share a room only through an embedded broker", b, o.Nodes)
		}
	}
	return nil
}
