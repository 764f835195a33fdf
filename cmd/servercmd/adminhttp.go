package servercmd

import (
	"fmt"
	"log/slog"

	"github.com/udpchat/udpchat/config"
	"github.com/udpchat/udpchat/metrics"
	"github.com/udpchat/udpchat/plugins"
	"github.com/udpchat/udpchat/server"
)

// startAdminHTTP starts the admin HTTP listener server.admin_http names
// (package metrics), and returns what shuts it down; with none configured
// it starts nothing and returns a stop that does nothing. plugins is asked
// for the plugins' counts at each scrape, so that it may answer for
// whichever plugins are running then.
func startAdminHTTP(cfg config.Server, srv *server.Server, plugins func() []plugins.Stats, log *slog.Logger) (stop func(), err error) {
	if cfg.AdminHTTP == "" {
		return func() {}, nil
	}
	l, err := metrics.Listen(metrics.ListenerConfig{
		Addr:     cfg.AdminHTTP,
		Registry: metrics.NewRegistry(metrics.Sources{Engine: srv, Plugins: plugins}),
		Ready:    srv.Serving,
		PProf:    cfg.PProf,
		Log:      log,
	})
	if err != nil {
		return nil, fmt.Errorf("server.admin_http: %w", err)
	}
	return l.Close, nil
}
