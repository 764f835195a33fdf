package servercmd

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/config"
	"github.com/udpchat/udpchat/plugins"
	"github.com/udpchat/udpchat/server"
)

// liveKeys are the options a reload changes in a running server; any
// other it reads, and says it takes a restart.
var liveKeys = []string{
	"plugins",
	"server.motd",
	"server.rate", "server.burst", "server.max_lag",
	"server.handshake_rate", "server.handshake_burst",
	"server.operators",
}

// reloader reloads a running server's configuration, on SIGHUP or the
// admin socket's "reload": it reads the configuration again as the server
// started with it, and applies what can change live (liveKeys), and the
// ban list from its file. A configuration it cannot apply is refused with
// one line in the log, and the server keeps the one it has.
type reloader struct {
	load func() (config.Config, error) // the configuration as at start
	dir  string                        // the data directory
	srv  *server.Server
	room *plugins.LateRoom
	log  *slog.Logger

	// started is the configuration the server started with: what it runs
	// with but for liveKeys.
	started config.Config

	mu  sync.Mutex    // one reload at a time
	cfg config.Config // the configuration last read
	// set is the plugins in use: replaced by a reload, under mu, and read
	// without it by what must not wait for one, such as a scrape.
	set atomic.Pointer[plugins.Set]

	retiring sync.WaitGroup // plugins a reload left out, closing
	done     chan struct{}  // closed by Close: retire at once
}

// reload reloads, and returns what it changed, in one line.
func (r *reloader) reload(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, err := r.load()
	if err != nil {
		return "", r.refuse(err)
	}
	changed := config.Diff(r.cfg, cfg)
	var restart []string
	for _, k := range config.Diff(r.started, cfg) {
		if !slices.Contains(liveKeys, k) {
			restart = append(restart, k)
		}
	}
	set := r.set.Load()
	re, err := set.Reload(ctx, pluginConfigs(cfg.Plugins, r.dir), r.room, r.log)
	if err != nil {
		return "", r.refuse(err)
	}
	next := re.Set
	err = r.srv.Reload(server.Live{
		Handlers:       next.Middlewares(),
		Observers:      next.Observers(),
		Reserved:       pluginNames(cfg.Plugins),
		RateLimit:      server.RateLimit{Rate: cfg.Server.Rate, Burst: cfg.Server.Burst, MaxLag: cfg.Server.MaxLag},
		HandshakeLimit: server.RateLimit{Rate: cfg.Server.HandshakeRate, Burst: cfg.Server.HandshakeBurst},
		MOTD:           cfg.Server.MOTD,
		Operators:      cfg.Server.Operators,
	})
	if err != nil {
		// The new plugins never saw a message: they go, the old stay.
		for _, p := range re.Started {
			p.Close()
		}
		return "", r.refuse(err)
	}
	r.set.Store(next)
	newPlugins, stopped := plugins.Names(re.Started), plugins.Names(re.Retired)
	// The deadline the server runs with: handler_deadline takes a restart.
	r.retire(re.Retired, r.started.Server.HandlerDeadline)
	r.cfg = cfg

	bans, banErr := r.srv.ReloadBans(ctx)
	attrs := []any{"changed", changed, "plugins_started", newPlugins, "plugins_stopped", stopped, "bans", bans}
	if len(restart) > 0 {
		attrs = append(attrs, "need_restart", restart)
	}
	r.log.Info("configuration reloaded", attrs...)
	summary := fmt.Sprintf("reloaded: changed %s; plugins started %s, stopped %s; %d bans",
		list(changed), list(newPlugins), list(stopped), bans)
	if len(restart) > 0 {
		r.log.Warn("these options take a restart: the server runs with their old values", "keys", restart)
		summary += "; " + list(restart) + " take a restart"
	}
	if banErr != nil {
		r.log.Error("reload: the ban list is kept as it was", "err", banErr)
		return summary, fmt.Errorf("%s; but the ban list is kept as it was: %w", summary, banErr)
	}
	return summary, nil
}

// pluginStats are the statistics of the plugins in use, for the metrics.
func (r *reloader) pluginStats() []plugins.Stats {
	if set := r.set.Load(); set != nil {
		return set.Stats()
	}
	return nil
}

// refuse logs that a reload was refused, and why, in one line.
func (r *reloader) refuse(err error) error {
	r.log.Error("reload refused: the server keeps its configuration", "err", err)
	return fmt.Errorf("reload refused: %w", err)
}

// retire closes plugins a reload left out, once the messages that may
// have reached them before it are through the handler chain: a message
// spends at most deadline there.
func (r *reloader) retire(ps []*plugins.Plugin, deadline time.Duration) {
	if len(ps) == 0 {
		return
	}
	if deadline <= 0 {
		deadline = server.DefaultHandlerDeadline
	}
	r.retiring.Go(func() {
		t := time.NewTimer(deadline)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.done:
		}
		for _, p := range ps {
			p.Close()
		}
	})
}

// Close waits for plugins being retired, then closes those in use.
func (r *reloader) Close() {
	close(r.done)
	r.retiring.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set.Load().Close()
}

// list is names for a line of the log or an answer: "none" for none.
func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
