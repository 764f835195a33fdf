// Package broker gives udpchat-server its connection to NATS, where the
// rooms' logs (roomlog/jetstream) and the secrets servers share live. The
// configuration's broker.mode says where NATS is: embedded runs a NATS
// server with JetStream inside this process, storing under the data
// directory, alone (no port at all) or clustered with other
// udpchat-servers over routes; nats connects to NATS servers of one's own.
// Mode memory needs no broker, and does not call Open.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The modes Open takes.
const (
	// Embedded runs a NATS server in this process.
	Embedded = "embedded"
	// NATS connects to NATS servers by URL.
	NATS = "nats"
)

// DefaultReady bounds the wait for JetStream to be ready. A cluster elects
// its JetStream meta leader in about 5 s once a majority of its nodes are
// up, so a node started well before the others waits for them.
const DefaultReady = 30 * time.Second

// Config says where NATS is. It mirrors config.Broker, whose keys document
// each field, plus what this package needs from elsewhere (the data
// directory, the wait for JetStream).
type Config struct {
	Mode string
	// Name is this node's name among NATS servers, unique in a cluster:
	// DefaultName(server.listen) when the configuration says "".
	Name string
	// DataDir is the server's data directory: an embedded NATS stores
	// JetStream under DataDir/nats.
	DataDir string
	Cluster Cluster
	// URL is the NATS servers of mode nats, comma-separated; Creds a
	// .creds file.
	URL, Creds string
	TLS        TLS
	// Replicas is the configured broker.replicas: 0 is automatic.
	Replicas int
	// Ready bounds the wait for JetStream: DefaultReady if 0.
	Ready time.Duration
}

// Cluster is an embedded server's routes to other nodes.
type Cluster struct {
	// Listen is the HOST:PORT routes come to; "" is not clustered.
	Listen string
	Name   string
	// Routes are the other nodes' route URLs.
	Routes         []string
	User, Password string
}

// TLS names PEM files: the client's TLS in mode nats, the routes' TLS (both
// ways) of an embedded cluster.
type TLS struct {
	CA, Cert, Key string
}

// Broker is a connection to NATS with JetStream, and the embedded server
// it runs, if any.
type Broker struct {
	srv      *server.Server // nil in mode nats
	nc       *nats.Conn
	js       jetstream.JetStream
	replicas int
	alone    bool // an embedded server that accepts no connection
	log      *slog.Logger
	closed   chan struct{} // closed when nc is
}

// Open starts or reaches NATS as cfg says, and returns once JetStream
// answers, or with an error that says what did not come.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Broker, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Ready == 0 {
		cfg.Ready = DefaultReady
	}
	b := &Broker{log: logger, closed: make(chan struct{})}
	var err error
	switch cfg.Mode {
	case Embedded:
		err = b.startEmbedded(cfg)
	case NATS:
		err = b.connect(cfg)
	default:
		err = fmt.Errorf("mode %q: want %s or %s (memory needs no broker)", cfg.Mode, Embedded, NATS)
	}
	if err == nil {
		b.js, err = jetstream.New(b.nc)
	}
	if err == nil {
		err = b.awaitJetStream(ctx, cfg.Ready)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	b.replicas = replicas(cfg, b.nc)
	logger.Info("broker ready", "mode", cfg.Mode, "name", cfg.Name, "replicas", b.replicas)
	return b, nil
}

// connect connects to the NATS servers of mode nats.
func (b *Broker) connect(cfg Config) error {
	if cfg.URL == "" {
		return errors.New("mode nats needs the URL of the NATS servers")
	}
	opts := []nats.Option{
		nats.Name("udpchat-server " + cfg.Name),
		nats.MaxReconnects(-1),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.log.Warn("broker: disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { b.log.Info("broker: reconnected to NATS", "url", nc.ConnectedUrlRedacted()) }),
	}
	if cfg.Creds != "" {
		opts = append(opts, nats.UserCredentials(cfg.Creds))
	}
	if cfg.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLS.CA))
	}
	if cfg.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLS.Cert, cfg.TLS.Key))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", cfg.URL, err)
	}
	b.nc = nc
	return nil
}

// awaitJetStream asks for the account's JetStream info until it comes, or
// ready passes, or ctx ends.
func (b *Broker) awaitJetStream(ctx context.Context, ready time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, ready)
	defer cancel()
	var last error
	for {
		actx, acancel := context.WithTimeout(ctx, time.Second)
		_, err := b.js.AccountInfo(actx)
		acancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("JetStream not ready after %v (a cluster needs a majority of its nodes up to elect a leader): %w", ready, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// replicas is the copies each stream gets: the configured number, or 1
// alone and 3 in a cluster of 3 or more.
func replicas(cfg Config, nc *nats.Conn) int {
	if cfg.Replicas > 0 {
		return cfg.Replicas
	}
	nodes := 1
	switch {
	case cfg.Mode == Embedded && cfg.Cluster.Listen != "":
		nodes = 1 + len(cfg.Cluster.Routes)
		for _, r := range cfg.Cluster.Routes {
			if strings.HasSuffix(r, "//"+cfg.Cluster.Listen) {
				nodes-- // a node's own route, in a list every node shares
			}
		}
	case cfg.Mode == NATS:
		nodes = 1 + len(nc.DiscoveredServers())
	}
	if nodes >= 3 {
		return 3
	}
	return 1
}

// JetStream is the broker's JetStream.
func (b *Broker) JetStream() jetstream.JetStream { return b.js }

// Conn is the broker's NATS connection.
func (b *Broker) Conn() *nats.Conn { return b.nc }

// Replicas is the copies of each stream the configuration asks for, 0
// (automatic) resolved: what roomlog/jetstream's Options.Replicas takes.
func (b *Broker) Replicas() int { return b.replicas }

// Alone reports whether this process is the only client NATS can have:
// an embedded server that is not clustered listens on no port, so no other
// server can append to its streams or read them (what
// roomlog/jetstream's Options.Alone takes).
func (b *Broker) Alone() bool { return b.alone }

// Close drains the connection (what is in flight is delivered), shuts the
// embedded server down and waits until it has. Closing again does nothing.
func (b *Broker) Close() {
	if b.nc != nil && !b.nc.IsClosed() {
		if err := b.nc.Drain(); err == nil {
			select {
			case <-b.closed:
			case <-time.After(5 * time.Second):
				b.nc.Close()
			}
		} else {
			b.nc.Close()
		}
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
}

// DefaultName is the name of a node whose configuration gives none,
// derived from its udpchat address (server.listen): "udpchat-HOST-PORT",
// with the machine's host name for an unspecified address, so that nodes
// on several machines listening on 0.0.0.0:12345 differ.
func DefaultName(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		host, port = listen, ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	name := "udpchat-" + host
	if port != "" {
		name += "-" + port
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '.' || r == ':' || r == '*' || r == '>' {
			return '_'
		}
		return r
	}, name)
}
