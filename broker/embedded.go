package broker

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startEmbedded starts a NATS server in this process, JetStream under
// DataDir/nats, and connects to it in-process. Alone it listens on no port
// at all. Clustered it must listen for clients (nats-server issue 5174:
// DontListen also stops routes), so it does on a random port of 127.0.0.1,
// and for routes where cluster.listen says.
func (b *Broker) startEmbedded(cfg Config) error {
	if cfg.DataDir == "" {
		return fmt.Errorf("embedded NATS needs a data directory")
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		JetStream:  true,
		StoreDir:   filepath.Join(cfg.DataDir, "nats"),
		NoSigs:     true,
		DontListen: cfg.Cluster.Listen == "",
	}
	if cfg.Cluster.Listen != "" {
		opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
		if err := clusterOptions(opts, cfg); err != nil {
			return err
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("embedded NATS: %w", err)
	}
	// Never the default logger: a clustered server without routes can
	// call os.Exit through it.
	srv.SetLoggerV2(&logger{b.log.With("component", "nats")}, false, false, false)
	srv.Start()
	b.srv, b.alone = srv, opts.DontListen
	if !srv.ReadyForConnections(cfg.Ready) {
		return fmt.Errorf("embedded NATS not ready after %v (route listen %q)", cfg.Ready, cfg.Cluster.Listen)
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name("udpchat-server "+cfg.Name),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }))
	if err != nil {
		return fmt.Errorf("connect to the embedded NATS: %w", err)
	}
	b.nc = nc
	return nil
}

// clusterOptions sets opts' routes from cfg: the listen address, the
// routes, with the cluster's credentials where a route URL has none, and
// TLS both ways.
func clusterOptions(opts *server.Options, cfg Config) error {
	host, port, err := net.SplitHostPort(cfg.Cluster.Listen)
	if err != nil {
		return fmt.Errorf("cluster listen: %w", err)
	}
	opts.Cluster.Name = cfg.Cluster.Name
	opts.Cluster.Host = host
	if opts.Cluster.Port, err = strconv.Atoi(port); err != nil {
		return fmt.Errorf("cluster listen: port %q", port)
	}
	opts.Cluster.Username, opts.Cluster.Password = cfg.Cluster.User, cfg.Cluster.Password
	for _, r := range cfg.Cluster.Routes {
		u, err := url.Parse(r)
		if err != nil {
			return fmt.Errorf("route %q: %w", r, err)
		}
		if u.User == nil && cfg.Cluster.User != "" {
			u.User = url.UserPassword(cfg.Cluster.User, cfg.Cluster.Password)
		}
		opts.Routes = append(opts.Routes, u)
	}
	if cfg.TLS.Cert != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLS.Cert, KeyFile: cfg.TLS.Key, CaFile: cfg.TLS.CA, Verify: true})
		if err != nil {
			return fmt.Errorf("route TLS: %w", err)
		}
		// A route is both client and server: its peers' certificates
		// are checked against the CA either way, as nats-server's own
		// configuration of cluster TLS does.
		tc.ClientAuth, tc.RootCAs = tls.RequireAndVerifyClientCert, tc.ClientCAs
		opts.Cluster.TLSConfig, opts.Cluster.TLSTimeout = tc, 2
	}
	return nil
}

// logger is the embedded server's logger, on slog: its notices are debug
// (a server start is twenty of them), and a fatal error is an error,
// never an exit.
type logger struct{ l *slog.Logger }

func (g *logger) Noticef(format string, v ...any) { g.log(slog.LevelDebug, format, v) }
func (g *logger) Warnf(format string, v ...any)   { g.log(slog.LevelWarn, format, v) }
func (g *logger) Fatalf(format string, v ...any)  { g.log(slog.LevelError, format, v) }
func (g *logger) Errorf(format string, v ...any)  { g.log(slog.LevelError, format, v) }
func (g *logger) Debugf(format string, v ...any)  { g.log(slog.LevelDebug, format, v) }
func (g *logger) Tracef(format string, v ...any)  { g.log(slog.LevelDebug, format, v) }

func (g *logger) log(level slog.Level, format string, v []any) {
	if ctx := context.Background(); g.l.Enabled(ctx, level) {
		g.l.Log(ctx, level, fmt.Sprintf(format, v...))
	}
}
