package metrics_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/udpchat/udpchat/internal/histogram"
	"github.com/udpchat/udpchat/metrics"
	"github.com/udpchat/udpchat/metrics/metricstest"
	"github.com/udpchat/udpchat/plugins"
	"github.com/udpchat/udpchat/server"
)

// engine is a server as the collector sees it, with counts of the test's.
type engine struct {
	st server.Stats
	ss server.SessionStats
}

func (e *engine) Stats() server.Stats               { return e.st }
func (e *engine) SessionStats() server.SessionStats { return e.ss }

// listen starts a listener on a free loopback port for src, closed when
// the test ends, and returns its base URL.
func listen(t *testing.T, src metrics.Sources, ready func() bool, pprof bool) string {
	t.Helper()
	l, err := metrics.Listen(metrics.ListenerConfig{Addr: "127.0.0.1:0", Registry: metrics.NewRegistry(src), Ready: ready, PProf: pprof})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return "http://" + l.Addr().String()
}

// TestCollector: a scrape reports what the sources say at the time of the
// scrape, under the documented names and labels, with Go's runtime and the
// process beside them; the plugins are asked for anew at each scrape.
func TestCollector(t *testing.T) {
	lat := histogram.New(histogram.Nanoseconds, histogram.Seconds...)
	lat.Observe(3e6)
	lat.Observe(40e6)
	e := &engine{
		st: server.Stats{Received: 10, Sent: 12, Delivered: 7, Handshake: 2, LogAppends: 3, Latency: lat.Snapshot()},
		ss: server.SessionStats{
			Groups: []server.SessionGroup{{Protocol: 1, Suite: "rsa-aes-cbc-hmac", Codec: "json", Sessions: 1},
				{Protocol: 2, Suite: "x25519-chacha20poly1305", Codec: "protobuf", Sessions: 3}},
			Lag: histogram.New(1, 0, 10).Snapshot(),
		},
	}
	e.st.DroppedBy[server.DropUndecodable] = 4
	var calls atomic.Uint64
	src := metrics.Sources{Engine: e, Plugins: func() []plugins.Stats {
		return []plugins.Stats{{Name: "filter", State: plugins.StateRunning, Calls: calls.Add(5), Failures: 1, Latency: lat.Snapshot()}}
	}}
	url := listen(t, src, func() bool { return true }, false)

	s := metricstest.Metrics(t, url+"/metrics")
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"udpchat_datagrams_received_total", nil, 10},
		{"udpchat_datagrams_sent_total", nil, 12},
		{"udpchat_deliveries_total", nil, 7},
		{"udpchat_handshakes_total", nil, 2},
		{"udpchat_room_log_appends_total", nil, 3},
		{"udpchat_datagrams_dropped_total", []string{"reason", "undecodable"}, 4},
		{"udpchat_datagrams_dropped_total", []string{"reason", "replay"}, 0},
		{"udpchat_delivery_latency_seconds", nil, 2},
		{"udpchat_sessions", []string{"protocol", "2", "suite", "x25519-chacha20poly1305", "codec", "protobuf"}, 3},
		{"udpchat_sessions", []string{"protocol", "1", "suite", "rsa-aes-cbc-hmac", "codec", "json"}, 1},
		{"udpchat_recipient_lag_messages", nil, 0},
		{"udpchat_plugin_up", []string{"plugin", "filter"}, 1},
		{"udpchat_plugin_calls_total", []string{"plugin", "filter"}, 5},
		{"udpchat_plugin_failures_total", []string{"plugin", "filter"}, 1},
		{"udpchat_plugin_call_duration_seconds", []string{"plugin", "filter"}, 2},
	} {
		if got, ok := s.Value(tt.name, tt.labels...); !ok || got != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if n := len(s["udpchat_datagrams_dropped_total"].GetMetric()); n != int(server.NumDropReasons) {
		t.Errorf("%d drop reasons reported, want all %d", n, server.NumDropReasons)
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if _, ok := s.Value(name); !ok {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
	if got, _ := metricstest.Metrics(t, url+"/metrics").Value("udpchat_plugin_calls_total", "plugin", "filter"); got != 10 {
		t.Errorf("second scrape: %v plugin calls, want 10: the plugins are read at each scrape", got)
	}
}

// TestEndpoints: /healthz always, /readyz as the server says, pprof only
// when asked for, 404 for the rest.
func TestEndpoints(t *testing.T) {
	src := metrics.Sources{Engine: &engine{}}
	var ready atomic.Bool
	off := listen(t, src, ready.Load, false)
	on := listen(t, src, ready.Load, true)

	for _, tt := range []struct {
		url  string
		want int
	}{
		{off + "/healthz", http.StatusOK},
		{off + "/readyz", http.StatusServiceUnavailable},
		{off + "/debug/pprof/", http.StatusNotFound},
		{off + "/debug/pprof/cmdline", http.StatusNotFound},
		{off + "/", http.StatusNotFound},
		{on + "/debug/pprof/", http.StatusOK},
		{on + "/debug/pprof/goroutine?debug=1", http.StatusOK},
	} {
		if code, body := metricstest.Get(t, tt.url); code != tt.want {
			t.Errorf("GET %s: %d, want %d: %s", tt.url, code, tt.want, strings.TrimSpace(body))
		}
	}
	ready.Store(true)
	if code, _ := metricstest.Get(t, off+"/readyz"); code != http.StatusOK {
		t.Errorf("GET /readyz when ready: %d, want 200", code)
	}
}
