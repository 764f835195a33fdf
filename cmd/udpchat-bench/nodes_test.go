package main

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/config"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
)

// benchServerOptions are the server options a default relay run hands
// its servers.
func benchServerOptions(t *testing.T) ServerOptions {
	t.Helper()
	o, err := parseFlags(nil, io.Discard, false)
	if err != nil {
		t.Fatal(err)
	}
	so := o.Server0
	so.Codec, so.Suite, so.Reliability, so.RelConfig = o.Codec, o.Suite, o.Reliability, o.RelConfig
	so.MaxSessions = 100
	return so
}

// TestNodeConfig: each node of a cluster of three gets a file of its own:
// its own data directory and name, the embedded broker listening for
// routes on its own port with routes to the two others, and the bench's
// load settings; it loads as udpchat-server's configuration, so no key
// is misspelt. A node alone has no cluster.
func TestNodeConfig(t *testing.T) {
	dir := t.TempDir()
	plans, err := planNodes(3, dir)
	if err != nil {
		t.Fatal(err)
	}
	dirs, names, ports := map[string]bool{}, map[string]bool{}, map[netip.AddrPort]bool{}
	for i, p := range plans {
		b, err := nodeConfig(benchServerOptions(t), "embedded", plans, i)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Server struct {
				DataDir string `json:"data_dir"`
				Listen  string
			}
			Broker struct {
				Mode, Name string
				Cluster    struct {
					Listen string
					Routes []string
				}
			}
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		var want []string
		for j, o := range plans {
			if j != i {
				want = append(want, "nats://"+o.Cluster.String())
			}
		}
		switch {
		case c.Broker.Mode != "embedded" || c.Broker.Cluster.Listen != p.Cluster.String() || !p.Cluster.Addr().IsLoopback():
			t.Errorf("node %d: broker %+v, want embedded on its own loopback port %v", i, c.Broker, p.Cluster)
		case !slices.Equal(c.Broker.Cluster.Routes, want):
			t.Errorf("node %d: routes %q, want %q", i, c.Broker.Cluster.Routes, want)
		case !strings.HasPrefix(c.Server.DataDir, dir) || c.Server.Listen != "127.0.0.1:0":
			t.Errorf("node %d: data_dir %q listen %q", i, c.Server.DataDir, c.Server.Listen)
		}
		dirs[c.Server.DataDir], names[c.Broker.Name], ports[p.Cluster] = true, true, true

		cfg := loadNode(t, b)
		if cfg.Server.History != 0 || cfg.Server.Rate != 0 || cfg.Server.HandshakeRate != 0 || cfg.Server.MaxSessionsPerAddr != -1 ||
			cfg.Server.MaxSessions != 400 || cfg.Reliability.RTO != 200*time.Millisecond || cfg.Log.Format != "json" {
			t.Errorf("node %d: the load settings did not carry: %+v %+v", i, cfg.Server, cfg.Reliability)
		}
	}
	if len(dirs) != 3 || len(names) != 3 || len(ports) != 3 {
		t.Errorf("three nodes share something: data dirs %v, names %v, route ports %v", slices.Collect(maps.Keys(dirs)), slices.Collect(maps.Keys(names)), slices.Collect(maps.Keys(ports)))
	}

	alone, err := planNodes(1, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := nodeConfig(benchServerOptions(t), "memory", alone, 0)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]map[string]any
	json.Unmarshal(b, &c)
	if _, clustered := c["broker"]["cluster"]; clustered || c["broker"]["mode"] != "memory" {
		t.Errorf("a node alone, broker memory: %v", c["broker"])
	}
}

// writeNode writes a node's configuration file in dir, and returns its
// path.
func writeNode(t *testing.T, file []byte, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "node.yaml")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadNode loads a node's configuration file as udpchat-server does.
func loadNode(t *testing.T, file []byte) config.Config {
	t.Helper()
	cfg, err := config.Load(writeNode(t, file, t.TempDir()), nil, nil)
	if err != nil {
		t.Fatalf("udpchat-server refuses the node's configuration: %v", err)
	}
	return cfg
}

// TestSpread: clients go to the nodes round-robin, so that 7 clients on
// 3 nodes are 3, 2 and 2, and the first 3 (the senders of -senders 3) are
// one on each.
func TestSpread(t *testing.T) {
	nodes := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.1:2"), netip.MustParseAddrPort("127.0.0.1:3")}
	count := map[netip.AddrPort]int{}
	for i := range 7 {
		count[spread(nodes, i)]++
	}
	if count[nodes[0]] != 3 || count[nodes[1]] != 2 || count[nodes[2]] != 2 {
		t.Errorf("7 clients on 3 nodes: %v", count)
	}
	if first := []netip.AddrPort{spread(nodes, 0), spread(nodes, 1), spread(nodes, 2)}; !slices.Equal(first, nodes) {
		t.Errorf("the first three clients went to %v", first)
	}
}

// TestNodesFlags: -nodes and -broker spawn udpchat-servers; several nodes
// share a room only through an embedded broker; they cannot be pointed
// at another server; -rounds repeats a comparison of brokers, nothing else.
func TestNodesFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" for none
	}{
		{[]string{"-nodes", "3"}, ""},
		{[]string{"-nodes", "3", "-broker", "embedded"}, ""},
		{[]string{"-broker", "memory,embedded"}, ""},
		{[]string{"-nodes", "3", "-broker", "memory"}, "embedded"},
		{[]string{"-nodes", "2", "-broker", "memory,embedded"}, "embedded"},
		{[]string{"-broker", "nats"}, "-broker"},
		{[]string{"-nodes", "-1"}, "-nodes"},
		{[]string{"-nodes", "2", "-server", "inproc"}, "-server inproc"},
		{[]string{"-broker", "memory,embedded", "-rounds", "6"}, ""},
		{[]string{"-rounds", "3"}, "-rounds"},
		{[]string{"-broker", "embedded", "-rounds", "3"}, "-rounds"},
		{[]string{"-broker", "memory,embedded", "-rounds", "0"}, "-rounds"},
	} {
		_, err := parseFlags(tc.args, io.Discard, false)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
}

// TestNodeStarts: a node is this binary as udpchat-server, started from a
// file the bench wrote: it becomes ready, takes a client and passes a
// message between two (waitCrossing), its CPU and memory are read apart
// from the bench's, and it stops when told, with its embedded broker. A
// node that refuses its file fails to start, and says why.
func TestNodeStarts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	plans, err := planNodes(1, dir)
	if err != nil {
		t.Fatal(err)
	}
	so := benchServerOptions(t)
	so.LogLevel = "warn"
	file, err := nodeConfig(so, "embedded", plans, 0)
	if err != nil {
		t.Fatal(err)
	}
	path := writeNode(t, file, dir)
	logs := &testkit.Buffer{}
	n, err := startNode(ctx, "node0", path, "", 0, logs)
	if err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	s := &nodesServer{nodes: []*node{n}, dir: filepath.Join(dir, "gone")}
	defer s.Stop()
	layers, err := lookupLayers(so.Codec, so.Suite, so.Reliability, core.ReliabilityConfig{RTO: 200 * time.Millisecond, MaxRetries: 5, Queue: 64, Window: 64})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitCrossing(ctx, s.Addrs(), layers, nil, 20*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	if p := s.SampleNodes(); len(p) != 1 || p[0].RSSKiB == 0 || p[0].CPU == 0 {
		t.Errorf("the node's CPU and memory: %+v", p)
	}
	if _, err := s.Stop(); err != nil {
		t.Errorf("stop: %v\n%s", err, logs)
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`{"sever": {"listen": "127.0.0.1:0"}}`), 0o600)
	logs.Reset()
	if _, err := startNode(ctx, "bad", bad, "", 0, logs); err == nil || !strings.Contains(logs.String(), "sever") {
		t.Errorf("a node with a misspelt key: %v, logs %q; want it refused, naming the key", err, logs)
	}
}
