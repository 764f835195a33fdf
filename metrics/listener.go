package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ListenerConfig says what the admin HTTP listener serves.
type ListenerConfig struct {
	// Addr is the HOST:PORT it listens on (TCP): a loopback address, which
	// the configuration checks (server.admin_http); port 0 picks one,
	// which Listener.Addr says.
	Addr string
	// Registry is what /metrics serves.
	Registry *prometheus.Registry
	// Ready says whether the server is serving, for /readyz.
	Ready func() bool
	// PProf serves net/http/pprof's handlers under /debug/pprof/.
	PProf bool
	Log   *slog.Logger
}

// ShutdownTimeout bounds the wait for requests under way when the listener
// shuts down (a CPU profile takes its seconds); past it their connections
// are closed.
const ShutdownTimeout = 5 * time.Second

// Listener is the admin HTTP listener: /metrics, /healthz (200 while the
// process runs), /readyz (200 while the server serves, 503 before and
// while it shuts down) and, with ListenerConfig.PProf, /debug/pprof/.
// Everything else is 404.
type Listener struct {
	srv  *http.Server
	l    net.Listener
	log  *slog.Logger
	done chan struct{} // closed when Serve has returned
}

// Listen starts serving cfg on cfg.Addr.
func Listen(cfg ListenerConfig) (*Listener, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(log.Handler(), slog.LevelError),
		MaxRequestsInFlight: 4, // a scrape walks the sessions: a few at once are plenty
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !cfg.Ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if cfg.PProf {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	a := &Listener{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		l:    l,
		log:  log,
		done: make(chan struct{}),
	}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin http failed", "err", err)
		}
	}()
	log.Info("admin http listening", "addr", l.Addr().String(), "pprof", cfg.PProf)
	return a, nil
}

// Addr is the address the listener is bound to.
func (a *Listener) Addr() net.Addr { return a.l.Addr() }

// Close shuts the listener down: it stops accepting, waits up to
// ShutdownTimeout for the requests under way, closes what is left, and
// returns once its goroutines have ended.
func (a *Listener) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		a.log.Warn("admin http: requests cut short at shutdown", "err", err)
		a.srv.Close()
	}
	<-a.done
}
