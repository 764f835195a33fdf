package servercmd_test

import (
	"bufio"
	"context"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cmd/servercmd"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/metrics/metricstest"
)

// running is a server that servercmd.Run runs, in the background, until
// the test ends.
type running struct {
	log   *testkit.Buffer
	addr  netip.AddrPort // its UDP address
	admin string         // its admin HTTP base URL, "" without one
}

var (
	readyLine = regexp.MustCompile(`msg="server ready".* addr=(\S+)`)
	adminLine = regexp.MustCompile(`msg="admin http listening" addr=(\S+)`)
)

// runServer runs udpchat-server with the configuration yaml (in memory,
// on 127.0.0.1 on a free port, logging at info), waits until it is ready,
// and stops it when the test ends, checking that it exits 0.
func runServer(t *testing.T, yaml string) *running {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "server.yaml")
	yaml = "server:\n  listen: 127.0.0.1:0\n  data_dir: " + dir + "\n" + yaml + "broker:\n  mode: memory\nlog:\n  level: info\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	r := &running{log: &testkit.Buffer{}}
	go func() { done <- servercmd.Run(ctx, []string{"--config", conf}, nil, r.log) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d:\n%s", code, r.log.String())
		}
	})
	var m []string
	testkit.Wait{Got: r.log.String}.Until(t, "server ready", func() bool {
		m = readyLine.FindStringSubmatch(r.log.String())
		return m != nil
	})
	r.addr = netip.MustParseAddrPort(m[1])
	if m := adminLine.FindStringSubmatch(r.log.String()); m != nil {
		r.admin = "http://" + m[1]
	}
	return r
}

// TestMetricsEndpoint (issue 18, must-show 1): with server.admin_http set,
// a scrape during a short chat finds the counters moving as they should:
// the sessions by protocol, suite and codec, each message delivered to its
// one other recipient, a garbage datagram dropped under its reason, the
// plugin called for each message; /healthz and /readyz answer 200, and
// pprof is not served unless asked for.
func TestMetricsEndpoint(t *testing.T) {
	filter := testkit.Build(t, "../../plugins/examples/filter")
	srv := runServer(t, "  admin_http: 127.0.0.1:0\nplugins:\n  - name: filter\n    path: "+filter+"\n    config: {words: darn}\n")
	if srv.admin == "" {
		t.Fatalf("no admin http line in the log:\n%s", srv.log.String())
	}
	room := chattest.Remote(t, srv.addr, chattest.Options{})
	a, b := room.Join(), room.Join()
	// Everything the joins bring has been sent once a hears b joined.
	a.WaitMessage("b's join", func(m core.Message) bool { return strings.Contains(m.Text, b.Name()+" joined") })
	metricsURL := srv.admin + "/metrics"
	before := metricstest.Metrics(t, metricsURL)

	room.Raw().Send([]byte("garbage, not a packet"))
	said := []string{"hello", "darn it", "bye"}
	for _, text := range said {
		a.WaitDelivered(a.Say(text))
	}
	if got := b.WaitChat(len(said))[1].Text; got != "**** it" {
		t.Errorf("the filter's message reached b as %q", got)
	}
	delta := func(s metricstest.Scrape, name string, labels ...string) float64 {
		was, _ := before.Value(name, labels...)
		now, ok := s.Value(name, labels...)
		if !ok {
			t.Errorf("no %s%v in the scrape", name, labels)
		}
		return now - was
	}
	undecodable := []string{"reason", "undecodable"}
	var s metricstest.Scrape
	testkit.WaitUntil(t, "the garbage counted", func() bool {
		s = metricstest.Metrics(t, metricsURL)
		return delta(s, "udpchat_datagrams_dropped_total", undecodable...) > 0
	})

	group := []string{"protocol", "2", "suite", a.Info().Suite, "codec", "json"}
	if n, _ := s.Value("udpchat_sessions", group...); n < 2 {
		t.Errorf("udpchat_sessions%v = %v, want at least 2", group, n)
	}
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
		exact  bool
	}{
		{"udpchat_deliveries_total", nil, float64(len(said)), true}, // each to b alone
		{"udpchat_delivery_latency_seconds", nil, float64(len(said)), true},
		{"udpchat_datagrams_dropped_total", undecodable, 1, true},
		{"udpchat_messages_accepted_total", nil, float64(len(said)), true},
		{"udpchat_plugin_calls_total", []string{"plugin", "filter"}, float64(len(said)), false},
		{"udpchat_plugin_failures_total", []string{"plugin", "filter"}, 0, true},
		{"udpchat_room_log_appends_total", nil, float64(len(said)), false},
		{"udpchat_datagrams_received_total", nil, float64(len(said)) + 1, false},
		{"udpchat_datagrams_sent_total", nil, float64(len(said)), false},
	} {
		got := delta(s, tt.name, tt.labels...)
		if got < tt.want || tt.exact && got != tt.want {
			t.Errorf("%s%v went up by %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if n, _ := s.Value("udpchat_handshakes_total"); n < 2 {
		t.Errorf("udpchat_handshakes_total = %v, want at least 2", n)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "udpchat_recipient_lag_messages", "udpchat_plugin_up"} {
		if _, ok := s.Value(name); !ok {
			t.Errorf("no %s in the scrape", name)
		}
	}

	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusOK, "/debug/pprof/": http.StatusNotFound} {
		if code, body := metricstest.Get(t, srv.admin+path); code != want {
			t.Errorf("GET %s: %d, want %d: %s", path, code, want, body)
		}
	}
}

// TestPProfOnlyWhenAsked: server.pprof serves Go's profiler on the admin
// listener.
func TestPProfOnlyWhenAsked(t *testing.T) {
	srv := runServer(t, "  admin_http: 127.0.0.1:0\n  pprof: true\n")
	if code, body := metricstest.Get(t, srv.admin+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("GET /debug/pprof/ with pprof on: %d %q", code, body)
	}
}

// TestNoAdminHTTPByDefault: without server.admin_http the server says
// nothing of one, and listens on no TCP port at all.
func TestNoAdminHTTPByDefault(t *testing.T) {
	srv := runServer(t, "")
	if srv.admin != "" || strings.Contains(srv.log.String(), "admin http") {
		t.Errorf("an admin http listener with none configured:\n%s", srv.log.String())
	}
	if ls := tcpListeners(t); len(ls) > 0 {
		t.Errorf("the process listens on TCP %v with no admin_http", ls)
	}
}

// tcpListeners are the local addresses (hex, as /proc/net/tcp writes
// them) of the TCP sockets this process listens on.
func tcpListeners(t *testing.T) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	mine := map[string]bool{} // socket inodes
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(l, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) > 9 && fields[3] == "0A" && mine[fields[9]] { // 0A: LISTEN
				out = append(out, fields[1])
			}
		}
		f.Close()
	}
	return out
}
