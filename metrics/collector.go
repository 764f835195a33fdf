// Package metrics reports the server to Prometheus: a collector that reads
// the engine's and the plugins' own counters when it is scraped
// (server.Stats, server.SessionStats, plugins.Stats), and the admin HTTP
// listener that serves them beside health, readiness and, when asked,
// pprof. It is the one package, with cmd/servercmd, that imports
// prometheus/client_golang: the engine counts with atomics and knows
// nothing of it.
package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/udpchat/udpchat/internal/histogram"
	"github.com/udpchat/udpchat/plugins"
	"github.com/udpchat/udpchat/server"
)

// Engine is what the collector reads of the server: *server.Server.
type Engine interface {
	Stats() server.Stats
	SessionStats() server.SessionStats
}

// Sources are what a scrape reads.
type Sources struct {
	Engine Engine
	// Plugins returns the plugins' Stats at the time of the scrape: a
	// function, not a set, so that the plugins may be replaced while the
	// server runs (nil: no plugins).
	Plugins func() []plugins.Stats
}

const namespace = "udpchat"

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
}

// The metrics, each described once.
var (
	received   = desc("datagrams_received_total", "Datagrams read.")
	sent       = desc("datagrams_sent_total", "Datagrams written, of every kind.")
	dropped    = desc("datagrams_dropped_total", "Datagrams dropped, by reason: a small fixed set (server.DropReason); the server's log says more.", "reason")
	handshakes = desc("handshakes_total", "Sessions started: KEY_REQs answered with a KEY_REP.")
	cookies    = desc("cookies_sent_total", "COOKIE answers sent to handshakes under load.")
	accepted   = desc("messages_accepted_total", "Chat messages accepted from clients (and acknowledged).")
	deliveries = desc("deliveries_total", "Messages handed to a recipient for their first transmission: room messages, history and notices, one per recipient.")
	dataSent   = desc("data_sent_total", "DATA datagrams sent to recipients, retransmissions included.")
	bundles    = desc("bundles_sent_total", "Version 2 DATA that carry a bundle of messages.")
	retrans    = desc("retransmissions_total", "Version 2 DATA sent again for want of an ACK.")
	gaps       = desc("recipient_gaps_total", "Times a recipient fell behind what the room log keeps and was told how many it missed.")
	missed     = desc("recipient_missed_messages_total", "Messages the recipients who fell behind the room log's retention missed.")
	latency    = desc("delivery_latency_seconds", "Time from a message's acceptance by the server (before the handlers) to its first transmission to each version 2 recipient; not to the recipient's ACK.")
	sessions   = desc("sessions", "Sessions now, by protocol version, cipher suite and codec.", "protocol", "suite", "codec")
	lag        = desc("recipient_lag_messages", "A snapshot at scrape time, over the version 2 sessions, of how many room messages each has yet to be sent: a histogram of the sessions now, not a counter.")
	appends    = desc("room_log_appends_total", "Appends to the room log.")
	reads      = desc("room_log_reads_total", "Reads of the room log.")

	pluginUp       = desc("plugin_up", "1 while the plugin's process answers calls, 0 while it is restarting or failed.", "plugin")
	pluginCalls    = desc("plugin_calls_total", "Calls made to the plugin: messages, room events and commands.", "plugin")
	pluginFailures = desc("plugin_failures_total", "Calls to the plugin that failed: an error, a timeout, the plugin not running, or an answer that makes no sense.", "plugin")
	pluginLatency  = desc("plugin_call_duration_seconds", "Time the calls that reached the plugin's process took.", "plugin")
)

// Collector is a prometheus.Collector of the server's metrics, read from
// its Sources at each scrape.
type Collector struct {
	src Sources
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector reading src.
func NewCollector(src Sources) *Collector { return &Collector{src: src} }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		received, sent, dropped, handshakes, cookies, accepted, deliveries, dataSent, bundles,
		retrans, gaps, missed, latency, sessions, lag, appends, reads,
		pluginUp, pluginCalls, pluginFailures, pluginLatency,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Engine.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(received, st.Received)
	counter(sent, st.Sent)
	for r, n := range st.DroppedBy {
		counter(dropped, n, server.DropReason(r).String())
	}
	counter(handshakes, st.Handshake)
	counter(cookies, st.Cookies)
	counter(accepted, st.Accepted)
	counter(deliveries, st.Delivered)
	counter(dataSent, st.Relayed)
	counter(bundles, st.Bundled)
	counter(retrans, st.Retransmitted)
	counter(gaps, st.Gaps)
	counter(missed, st.Missed)
	counter(appends, st.LogAppends)
	counter(reads, st.LogReads)
	ch <- constHistogram(latency, st.Latency)

	ss := c.src.Engine.SessionStats()
	for _, g := range ss.Groups {
		ch <- prometheus.MustNewConstMetric(sessions, prometheus.GaugeValue, float64(g.Sessions),
			strconv.Itoa(int(g.Protocol)), g.Suite, g.Codec)
	}
	ch <- constHistogram(lag, ss.Lag)

	if c.src.Plugins == nil {
		return
	}
	for _, p := range c.src.Plugins() {
		up := 0.0
		if p.State == plugins.StateRunning {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(pluginUp, prometheus.GaugeValue, up, p.Name)
		counter(pluginCalls, p.Calls, p.Name)
		counter(pluginFailures, p.Failures, p.Name)
		ch <- constHistogram(pluginLatency, p.Latency, p.Name)
	}
}

// constHistogram is s as Prometheus takes a histogram.
func constHistogram(d *prometheus.Desc, s histogram.Snapshot, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstHistogram(d, s.Count(), s.Sum, s.Cumulative(), labels...)
}

// NewRegistry returns a registry of its own (never Prometheus's global
// one) with the server's collector and Go's runtime and process
// collectors.
func NewRegistry(src Sources) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(src),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}
