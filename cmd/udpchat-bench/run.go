package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/transport/fault"
)

// Options are everything a run takes from its command line.
type Options struct {
	Mode  string // relay, floor, handshake, idle
	Procs int    // GOMAXPROCS of the bench's process; 0 leaves the default

	Server    string // spawn, inproc, or HOST:PORT
	ServerPID int
	// Nodes, when positive, spawns that many udpchat-servers (nodes.go),
	// clustered when more than one, and spreads the clients over them;
	// Broker is their broker.mode (memory or embedded). Either makes the
	// servers udpchat-server rather than the bench's own.
	Nodes      int
	Broker     string
	Rounds     int           // times over the brokers of a comparison
	Server0    ServerOptions // the bench's own server
	CPUProfile string        // the spawned server's CPU profile

	Codec, Suite, Reliability string
	RelConfig                 core.ReliabilityConfig
	Proto                     uint8

	Clients, Senders, Messages, Size int
	Inflight                         int
	Think                            time.Duration
	ThinkJitter                      float64
	Rate                             float64
	Keys                             int
	HandshakeConcurrency             int
	HandshakeRTO                     time.Duration

	Floor         bool
	FloorDuration time.Duration

	HSSockets int
	HSCount   int
	HSTime    time.Duration

	Drain   time.Duration // quiet period that ends the wait for deliveries
	Settle  time.Duration // idle: wait before the memory is read
	Timeout time.Duration

	// Faults put every client behind transport/fault, both ways, client i
	// with the seed clientSeed(FaultSeed, i); the zero value, on plain UDP.
	Faults    fault.Faults
	FaultSeed uint64

	Progress      bool
	ClientLogFile string    // -client-log; "" for none
	ClientLog     io.Writer // where the clients log, opened from ClientLogFile; nil: discard
}

// run is the whole bench, minus the process: it fills r, and returns an
// error when the run could not be completed (r then says how far it got).
func run(ctx context.Context, o Options, r *Result, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	r.Mode = o.Mode
	r.Start = time.Now().UTC().Format(time.RFC3339)
	senders := o.Senders
	if senders <= 0 || senders > o.Clients {
		senders = o.Clients
	}
	r.Config = &RunConfig{Clients: o.Clients, Senders: senders, Messages: o.Messages, Size: o.Size, Proto: o.Proto,
		Codec: o.Codec, Suite: o.Suite, Reliability: o.Reliability, Inflight: o.Inflight,
		ThinkMS: float64(o.Think) / 1e6, Rate: o.Rate, Faults: faultConfigOf(o.Faults, o.FaultSeed)}
	if o.Think > 0 {
		r.Config.ThinkJitter = o.ThinkJitter
	}
	if o.Nodes > 0 || o.Broker != "" {
		r.Config.Nodes, r.Config.Broker = max(o.Nodes, 1), brokerOf(o)
	}
	bar := newProgress(stderr, o.Progress)
	defer bar.close()

	if o.Floor || o.Mode == "floor" {
		bar.set("floor", 0, nil)
		f, err := measureFloor(ctx, o.Size, o.FloorDuration)
		if err != nil {
			return err
		}
		r.Floor = f
		if o.Mode == "floor" {
			r.Config = nil
			return nil
		}
	}
	layers, err := lookupLayers(o.Codec, o.Suite, o.Reliability, o.RelConfig)
	if err != nil {
		return err
	}
	keys, err := newKeyPool(o.Keys)
	if err != nil {
		return err
	}
	srv, err := startServer(ctx, o, stderr)
	if err != nil {
		return err
	}
	r.Server = &ServerInfo{Kind: srv.Kind(), Addr: srv.Addr().String()}
	servers := []netip.AddrPort{srv.Addr()}
	ns, isNodes := srv.(*nodesServer)
	if isNodes {
		servers = ns.Addrs()
		r.Server.Addr = joinAddrs(servers)
	}
	stopped := false
	stopServer := func() {
		if stopped {
			return
		}
		stopped = true
		st, err := srv.Stop()
		r.Server.Stats = statsOf(st)
		if err != nil {
			r.Notes = append(r.Notes, err.Error())
		}
	}
	defer stopServer()
	if isNodes {
		bar.set("ready", 0, nil)
		d, err := waitCrossing(ctx, servers, layers, keys, readyTimeout)
		r.Server.ReadySeconds = round3(d.Seconds())
		if err != nil {
			return err
		}
	}
	if _, ok := srv.Sample(); !ok {
		r.Notes = append(r.Notes, "server CPU and memory not measured: "+map[string]string{
			"inproc":   "the server runs in the bench's process (use -server spawn)",
			"external": "no -server-pid",
		}[srv.Kind()])
	}
	freeMemory := func() {
		if sp, ok := srv.(*spawnedServer); ok && o.Mode == "idle" {
			if err := sp.freeMemory(); err != nil {
				r.Notes = append(r.Notes, err.Error())
			}
		}
	}
	freeMemory()
	before, _ := srv.Sample()
	beforeNodes := sampleNodes(srv)

	if o.Mode == "handshake" {
		r.Config = nil
		var reps atomic.Int64
		bar.set("handshake", int64(o.HSCount), reps.Load)
		t0 := time.Now()
		h, err := blastHandshakes(ctx, HandshakeOptions{
			Server: srv.Addr(), Codec: layers.Codec, Proto: o.Proto, Sockets: o.HSSockets,
			Count: o.HSCount, Timeout: o.HSTime, Wait: time.Second, Keys: keys,
		}, func(n uint64) { reps.Store(int64(n)) })
		if err != nil {
			return err
		}
		r.Handshake = h
		serverUsage(r.Server, srv, before, time.Since(t0))
		return nil
	}

	logger := slog.New(slog.DiscardHandler)
	if o.ClientLog != nil {
		logger = slog.New(slog.NewTextHandler(o.ClientLog, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	f, err := newFleet(FleetOptions{
		Servers: servers, Layers: layers, Proto: o.Proto, Clients: o.Clients, Senders: senders,
		Messages: o.Messages, Size: o.Size, Inflight: o.Inflight, Think: o.Think, ThinkJitter: o.ThinkJitter, Rate: o.Rate,
		HandshakeConcurrency: o.HandshakeConcurrency, HandshakeRTO: o.HandshakeRTO, Keys: keys, Logger: logger,
		Faults: o.Faults, FaultSeed: o.FaultSeed,
	})
	if err != nil {
		return err
	}
	defer f.stop()

	// Handshakes.
	bar.set("connect", int64(o.Clients), f.connected.Load)
	t0 := time.Now()
	connErr := f.connect(ctx)
	connDur := time.Since(t0)
	r.Connect = &ConnectResult{Clients: o.Clients, Connected: f.connected.Load(), Failed: f.hsFailed.Load(),
		Seconds: round3(connDur.Seconds()), PerSec: round1(float64(f.connected.Load()) / connDur.Seconds()),
		Latency: f.hs.Summary()}
	if connErr != nil {
		return connErr
	}

	// Messages.
	expected := func() int64 { return f.acked.Load() * int64(o.Clients-1) }
	total := int64(senders) * int64(o.Messages) * int64(o.Clients-1)
	bar.set("relay", total, f.deliveries.Load)
	startSample, _ := srv.Sample()
	startNodes := sampleNodes(srv)
	machineStart, _, machineErr := machineCPU()
	clientsStart := testkit.ProcessCPU()
	sendStart := time.Now()
	sampleStart := sendStart
	if o.Mode == "idle" {
		startSample, startNodes, sampleStart = before, beforeNodes, t0 // the handshakes and the joins are the work
	}
	sendErr := f.send(ctx)
	// Every message's outcome, then every delivery owed: wait while they
	// come, until none has for the drain period.
	waitFor(ctx, o.Drain, func() bool { return f.outcomes() >= f.sent.Load() }, f.outcomes)
	sendDur := time.Since(sendStart)
	// Any message counts as progress: the bench's may queue behind the
	// server's join notices.
	waitFor(ctx, o.Drain, func() bool { return f.deliveries.Load() >= expected() }, f.received.Load)
	endSample, sampled := srv.Sample()
	machineEnd, cores, err := machineCPU()
	relayCPU := &RelayCPU{Seconds: time.Since(sampleStart).Seconds(), Cores: cores,
		Busy: (machineEnd - machineStart).Seconds(), Clients: (testkit.ProcessCPU() - clientsStart).Seconds()}
	if machineErr != nil || err != nil || o.Mode == "idle" {
		relayCPU = nil
	}
	r.Server.Nodes = nodeFigures(servers, startNodes, sampleNodes(srv), time.Since(sampleStart))
	relayEnd := time.Unix(0, f.lastDelivery.Load())
	if relayEnd.Before(sendStart) {
		relayEnd = time.Now()
	}
	if sampled {
		r.Server.Separate = true
		r.Server.CPU = round3((endSample.CPU - startSample.CPU).Seconds())
		r.Server.CPUPct = round1(100 * (endSample.CPU - startSample.CPU).Seconds() / time.Since(sampleStart).Seconds())
		r.Server.RSSKiB, r.Server.HWMKiB = endSample.RSSKiB, endSample.HWMKiB
	}
	if o.Mode == "idle" && ctx.Err() == nil {
		// Let the server's timers and the runtime settle, then read its
		// memory with every session idle.
		bar.set("settle", 0, nil)
		select {
		case <-time.After(o.Settle):
		case <-ctx.Done():
		}
		freeMemory()
		after, ok := srv.Sample()
		if ok {
			r.Idle = &IdleResult{Clients: o.Clients, RSSBeforeKiB: before.RSSKiB, RSSAfterKiB: after.RSSKiB,
				BytesPerSession: round1(float64(after.RSSKiB-min(before.RSSKiB, after.RSSKiB)) * 1024 / float64(o.Clients)),
				HWMKiB:          after.HWMKiB}
			r.Server.RSSKiB, r.Server.HWMKiB = after.RSSKiB, after.HWMKiB
		} else {
			r.Notes = append(r.Notes, "idle: the server's memory cannot be read, so no figure per session")
		}
	}
	// Stop the server before the clients, so that their goodbyes do not
	// make it announce N departures to everyone; each client then waits
	// a few RTOs for an answer to its BYE.
	bar.set("stop", 0, nil)
	stopServer()
	f.stop()

	t := f.count()
	x := &RelayResult{
		Seconds: round3(relayEnd.Sub(sendStart).Seconds()), SendSeconds: round3(sendDur.Seconds()),
		Sent: f.sent.Load(), Acked: f.acked.Load(), Failed: f.failed.Load(),
		Expected: t.total.Expected, Deliveries: t.total.Received, Lost: t.total.Lost,
		Duplicates: f.dups.Load(), OutOfOrder: f.ooo.Load(), Unacked: t.total.Unacked, Notices: t.notices,
		Latency: f.lat.Summary(), Gaps: t.total.Gaps, LongestGap: t.total.LongestGap, PerRecipient: summarize(t.recipients),
	}
	if len(t.recipients) <= maxRecipientsListed {
		x.Recipients = t.recipients
	}
	x.Unresolved = x.Sent - x.Acked - x.Failed
	if c := relayCPU; c != nil {
		if sampled && r.Server.Separate {
			c.Server = r.Server.CPU
		}
		c.Others = max(c.Busy-c.Server-c.Clients, 0)
		c.Busy, c.Server, c.Clients, c.Others = round2(c.Busy/c.Seconds), round2(c.Server/c.Seconds), round2(c.Clients/c.Seconds), round2(c.Others/c.Seconds)
		c.Seconds = round3(c.Seconds)
		x.CPU = c
	}
	x.MsgsPerSec = round1(float64(x.Acked) / sendDur.Seconds())
	x.DeliveriesPerSec = round1(float64(x.Deliveries) / max(relayEnd.Sub(sendStart).Seconds(), 1e-9))
	if r.Floor != nil && r.Floor.ReceivedPerSec > 0 {
		x.FloorFraction = round4(x.DeliveriesPerSec / r.Floor.ReceivedPerSec)
	}
	w := f.wire()
	r.Wire = &w
	r.Faults = f.faultStats()
	x.Retransmissions, x.ServerRetransmissions = w.TxRepeats, w.RxRepeats
	x.ClientFailures, x.ClientError = f.failures()
	if st := r.Server.Stats; st != nil {
		n := max(int(f.connected.Load())-st.Sessions, 0)
		x.ServerSessionsEnded = &n
	}
	r.Relay = x
	r.Connect.Versions = make(map[string]int)
	for v, n := range t.versions {
		r.Connect.Versions[strconv.Itoa(int(v))] = n
	}
	if r.Idle != nil {
		r.Idle.AllReached = t.total.Lost == 0 && x.Failed == 0 && x.ClientFailures == 0
	}
	if r.Server.Kind == "inproc" {
		r.Notes = append(r.Notes, "inproc: the server shares the bench's CPU and memory; bench_cpu_s includes both")
	}
	return errors.Join(sendErr, ctx.Err())
}

// serverUsage fills in the server's CPU and memory since before.
func serverUsage(s *ServerInfo, srv Server, before ProcSample, d time.Duration) {
	after, ok := srv.Sample()
	if !ok {
		return
	}
	s.Separate = true
	s.CPU = round3((after.CPU - before.CPU).Seconds())
	s.CPUPct = round1(100 * (after.CPU - before.CPU).Seconds() / d.Seconds())
	s.RSSKiB, s.HWMKiB = after.RSSKiB, after.HWMKiB
}

// waitFor returns once done() holds, once progress() has not moved for
// quiet, or once ctx is done: a wait on what happens, with a deadline,
// rather than a sleep.
func waitFor(ctx context.Context, quiet time.Duration, done func() bool, progress func() int64) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	last, since := progress(), time.Now()
	for !done() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n := progress(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
	}
}

// startServer starts or finds the server o names.
func startServer(ctx context.Context, o Options, stderr io.Writer) (Server, error) {
	so := o.Server0
	so.Codec, so.Suite, so.Reliability, so.RelConfig = o.Codec, o.Suite, o.Reliability, o.RelConfig
	if o.Server0.Codec != "" {
		so.Codec = o.Server0.Codec
	}
	if !so.Listen.IsValid() {
		so.Listen = netip.MustParseAddrPort("127.0.0.1:0")
	}
	so.MaxSessions = max(so.MaxSessions, o.Clients+o.HSSockets+16)
	switch {
	case o.Nodes > 0 || o.Broker != "":
		return startNodes(ctx, so, brokerOf(o), max(o.Nodes, 1), o.CPUProfile, stderr)
	}
	switch o.Server {
	case "spawn":
		return startSpawned(ctx, so, o.CPUProfile, stderr)
	case "inproc":
		return startInproc(so, stderr)
	}
	ap, err := netip.ParseAddrPort(o.Server)
	if err != nil {
		return nil, fmt.Errorf("-server: want spawn, inproc or HOST:PORT: %w", err)
	}
	return &externalServer{addr: ap, pid: o.ServerPID}, nil
}

// readyTimeout bounds the wait for the nodes to be ready: JetStream elects
// a cluster's leaders about 5 s after the routes form.
const readyTimeout = time.Minute

// brokerOf is the nodes' broker.mode: embedded unless -broker says.
func brokerOf(o Options) string {
	if o.Broker == "" {
		return "embedded"
	}
	return o.Broker
}

// joinAddrs writes addresses as a list, comma-separated.
func joinAddrs(addrs []netip.AddrPort) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// sampleNodes samples each node of srv, nil if it is not nodes.
func sampleNodes(srv Server) []ProcSample {
	if ns, ok := srv.(*nodesServer); ok {
		return ns.SampleNodes()
	}
	return nil
}

// nodeFigures is each node's CPU over d, from start to end, and memory at
// the end; nil without nodes.
func nodeFigures(addrs []netip.AddrPort, start, end []ProcSample, d time.Duration) []NodeInfo {
	if len(start) == 0 || len(start) != len(end) || len(end) != len(addrs) {
		return nil
	}
	out := make([]NodeInfo, len(end))
	for i := range end {
		cpu := (end[i].CPU - start[i].CPU).Seconds()
		out[i] = NodeInfo{Addr: addrs[i].String(), CPU: round3(cpu), CPUPct: round1(100 * cpu / d.Seconds()),
			RSSKiB: end[i].RSSKiB, HWMKiB: end[i].HWMKiB}
	}
	return out
}
