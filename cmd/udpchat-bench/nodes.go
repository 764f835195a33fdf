package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/udpchat/udpchat/cmd/servercmd"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/standard"
)

// With -nodes or -broker the bench loads real udpchat-servers rather than
// its own load server: it re-executes itself as udpchat-server (the
// program of cmd/servercmd, under the hidden first argument nodeCommand),
// once per node, each with a configuration file of its own. The nodes of
// a run of several form an embedded NATS cluster on 127.0.0.1, each with
// routes to every other, and share the room through it.

// nodeCommand is the hidden first argument that makes the bench binary
// udpchat-server.
const nodeCommand = "__udpchat-server"

// runNode is a node's main: udpchat-server with args, until its standard
// input closes (the parent's lifeline) or SIGTERM.
func runNode(args []string, stdin io.Reader, stderr io.Writer) int {
	standard.Register()
	ctx, stop := lifeline(stdin)
	defer stop()
	if len(args) > 0 && strings.HasPrefix(args[0], cpuprofileArg) {
		// The bench's -cpuprofile, for this node: not an option of
		// udpchat-server's.
		f, err := os.Create(strings.TrimPrefix(args[0], cpuprofileArg))
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "udpchat-bench node: cpuprofile: %v\n", err)
			return 1
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
		args = args[1:]
	}
	// No environment: the file is the node's whole configuration, and the
	// bench's own UDPCHAT_BENCH_ variables are no udpchat-server option.
	return servercmd.Run(ctx, args, nil, stderr)
}

// nodePlan is where one node listens and keeps its state.
type nodePlan struct {
	Name    string
	Cluster netip.AddrPort // its NATS routes' address; invalid for a node alone
	DataDir string
}

// planNodes plans n nodes under dir: each its own data directory and, when
// there are several, a free TCP port on 127.0.0.1 for its routes. A port
// found free may be taken before the node binds it; the node then fails
// to start, and says so.
func planNodes(n int, dir string) ([]nodePlan, error) {
	plans := make([]nodePlan, n)
	for i := range plans {
		plans[i] = nodePlan{Name: fmt.Sprintf("bench-node-%d", i), DataDir: filepath.Join(dir, fmt.Sprintf("node%d", i))}
		if n == 1 {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("nodes: a free port for node %d's routes: %w", i, err)
		}
		plans[i].Cluster = l.Addr().(*net.TCPAddr).AddrPort()
		l.Close()
	}
	return plans, nil
}

// nodeConfig is node i's configuration file, in JSON, which is YAML: the
// bench's load settings (no rate or handshake limit, no history, room for
// every client, no cap per address) as udpchat-server's keys, logging at
// info in JSON so that the bench reads its "server ready", and the broker
// keys of issue 16: broker.mode, and for several nodes an embedded NATS
// cluster with routes to every other node.
func nodeConfig(o ServerOptions, broker string, plans []nodePlan, i int) ([]byte, error) {
	p := plans[i]
	srv := map[string]any{
		"listen":   "127.0.0.1:0",
		"data_dir": p.DataDir,
		// Four times the sessions asked for: udpchat-server caps the
		// handshakes under way at a quarter of max_sessions, and the
		// bench's own server at max_sessions (its MaxHalfOpen), so the
		// clients' concurrent handshakes are not turned away.
		"max_sessions":            4 * max(o.MaxSessions, 16),
		"history":                 0,
		"rate":                    0,
		"handshake_rate":          0,
		"max_sessions_per_addr":   -1,
		"max_sessions_per_prefix": -1,
	}
	if o.RecipientQueue > 0 {
		srv["recipient_queue"] = o.RecipientQueue
	}
	b := map[string]any{"mode": broker, "name": p.Name}
	if p.Cluster.IsValid() {
		var routes []string
		for j, other := range plans {
			if j != i {
				routes = append(routes, "nats://"+other.Cluster.String())
			}
		}
		b["cluster"] = map[string]any{"listen": p.Cluster.String(), "routes": routes}
	}
	return json.MarshalIndent(map[string]any{
		"codec": o.Codec,
		"suite": o.Suite,
		"reliability": map[string]any{
			"name": o.Reliability, "rto": o.RelConfig.RTO.String(), "max_retries": o.RelConfig.MaxRetries,
			"queue": max(o.RelConfig.Queue, 1), "window": max(o.RelConfig.Window, 1),
		},
		"server": srv,
		"log":    map[string]any{"level": "info", "format": "json"},
		"broker": b,
	}, "", "  ")
}

// node is a udpchat-server child process.
type node struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  netip.AddrPort
	done  chan error // cmd.Wait's result
}

// startNode starts the bench binary as udpchat-server with the
// configuration file at path, and waits until it logs "server ready".
// Its log lines at level or above go to stderr, and every line that is
// not a log line (its error, if it fails).
func startNode(ctx context.Context, name, path, cpuprofile string, level slog.Level, stderr io.Writer) (*node, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	args := []string{nodeCommand, "--config", path}
	if cpuprofile != "" {
		args = slices.Insert(args, 1, cpuprofileArg+cpuprofile)
	}
	cmd := exec.Command(exe, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	logs, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	n := &node{name: name, cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	ready := make(chan netip.AddrPort, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			var rec struct {
				Level, Msg, Addr string
			}
			if json.Unmarshal(line, &rec) != nil {
				fmt.Fprintf(stderr, "%s: %s\n", name, line)
				continue
			}
			if rec.Msg == "server ready" {
				if ap, err := netip.ParseAddrPort(rec.Addr); err == nil {
					select {
					case ready <- ap:
					default:
					}
				}
			}
			var lv slog.Level
			if lv.UnmarshalText([]byte(rec.Level)) != nil || lv >= level {
				fmt.Fprintf(stderr, "%s: %s\n", name, line)
			}
		}
		n.done <- cmd.Wait()
	}()
	select {
	case n.addr = <-ready:
		return n, nil
	case err := <-n.done:
		return nil, fmt.Errorf("%s: exited before it was ready: %v", name, err)
	case <-ctx.Done():
		n.kill()
		return nil, fmt.Errorf("%s: %w", name, ctx.Err())
	case <-time.After(nodeStartTimeout):
		n.kill()
		return nil, fmt.Errorf("%s: not ready within %v", name, nodeStartTimeout)
	}
}

// nodeStartTimeout bounds a node's start, JetStream's included.
const nodeStartTimeout = 30 * time.Second

func (n *node) kill() {
	n.cmd.Process.Kill()
	n.stdin.Close()
	<-n.done
}

// stop closes the node's lifeline and waits for it to end, killing it if
// it takes longer than waitTimeout.
func (n *node) stop() error {
	n.stdin.Close()
	select {
	case err := <-n.done:
		if err != nil {
			return fmt.Errorf("%s: %w", n.name, err)
		}
		return nil
	case <-time.After(waitTimeout):
		n.cmd.Process.Kill()
		return fmt.Errorf("%s: killed, not stopped within %v: %w", n.name, waitTimeout, <-n.done)
	}
}

func (n *node) sample() (ProcSample, bool) {
	p, err := readProc(n.cmd.Process.Pid)
	return p, err == nil
}

// nodesServer is the nodes of a run as one Server: its address is the
// first node's, its CPU and memory their sums; Addrs and SampleNodes tell
// them apart.
type nodesServer struct {
	nodes []*node
	dir   string // every node's data directory is under it; removed at Stop
}

// cpuprofileArg, leading a node's arguments, names the file of its CPU
// profile (the bench's -cpuprofile, FILE.<broker>.<node>).
const cpuprofileArg = "-bench-cpuprofile="

// startNodes starts n udpchat-servers with broker, configured from o, in
// a temporary directory, and waits until each is ready; with cpuprofile
// set, each writes its CPU profile to cpuprofile.<broker>.<node>.
func startNodes(ctx context.Context, o ServerOptions, broker string, n int, cpuprofile string, stderr io.Writer) (*nodesServer, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return nil, fmt.Errorf("-server-log-level: %w", err)
	}
	dir, err := os.MkdirTemp("", "udpchat-bench-nodes-")
	if err != nil {
		return nil, fmt.Errorf("nodes: %w", err)
	}
	s := &nodesServer{dir: dir}
	plans, err := planNodes(n, dir)
	if err != nil {
		s.Stop()
		return nil, err
	}
	for i, p := range plans {
		conf, err := nodeConfig(o, broker, plans, i)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, p.Name+".yaml"), conf, 0o600)
		}
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("nodes: %s: %w", p.Name, err)
		}
	}
	// Every node starts at once: a clustered one waits for its routes.
	type started struct {
		n   *node
		err error
	}
	results := make(chan started, n)
	for _, p := range plans {
		go func() {
			prof := ""
			if cpuprofile != "" {
				prof = fmt.Sprintf("%s.%s.%s", cpuprofile, broker, p.Name)
			}
			nd, err := startNode(ctx, p.Name, filepath.Join(dir, p.Name+".yaml"), prof, level, stderr)
			results <- started{nd, err}
		}()
	}
	var errs []error
	for range plans {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		s.nodes = append(s.nodes, r.n)
	}
	if len(errs) > 0 {
		s.Stop()
		return nil, errors.Join(errs...)
	}
	// In the order planned, so that node i is bench-node-i.
	for i, p := range plans {
		for j, nd := range s.nodes {
			if nd.name == p.Name {
				s.nodes[i], s.nodes[j] = s.nodes[j], s.nodes[i]
			}
		}
	}
	return s, nil
}

func (s *nodesServer) Kind() string         { return "nodes" }
func (s *nodesServer) Addr() netip.AddrPort { return s.nodes[0].addr }

// Addrs are the nodes' addresses, in order.
func (s *nodesServer) Addrs() []netip.AddrPort {
	addrs := make([]netip.AddrPort, len(s.nodes))
	for i, n := range s.nodes {
		addrs[i] = n.addr
	}
	return addrs
}

// SampleNodes samples each node.
func (s *nodesServer) SampleNodes() []ProcSample {
	out := make([]ProcSample, len(s.nodes))
	for i, n := range s.nodes {
		out[i], _ = n.sample()
	}
	return out
}

// Sample sums the nodes' CPU and memory.
func (s *nodesServer) Sample() (ProcSample, bool) {
	var sum ProcSample
	for _, n := range s.nodes {
		p, ok := n.sample()
		if !ok {
			return sum, false
		}
		sum.CPU += p.CPU
		sum.RSSKiB += p.RSSKiB
		sum.HWMKiB += p.HWMKiB
	}
	return sum, true
}

// Stop stops every node and removes their data. udpchat-server prints no
// counters, so there are none.
func (s *nodesServer) Stop() (*server.Stats, error) {
	var errs []error
	for _, n := range s.nodes {
		errs = append(errs, n.stop())
	}
	s.nodes = nil
	errs = append(errs, os.RemoveAll(s.dir))
	return nil, errors.Join(errs...)
}
