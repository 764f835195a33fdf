// Package servercmd is the udpchat-server program as a package, the way
// Caddy's cmd package is: a main package imports the implementations it wants
// registered, its own beside udpchat's, and calls Main. cmd/udpchat-server is
// that main package for udpchat's standard implementations;
// examples/customcodec builds one with a codec of its own.
//
// With no configuration the server listens on 0.0.0.0:12345 and speaks the
// seed protocol, like the seed's server.
package servercmd

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/udpchat/udpchat/broker"
	"github.com/udpchat/udpchat/cmd/internal/cli"
	"github.com/udpchat/udpchat/config"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/internal/settle"
	"github.com/udpchat/udpchat/plugins"
	presence "github.com/udpchat/udpchat/presence/nats"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/roomlog/jetstream"
	"github.com/udpchat/udpchat/server"
)

var command = cli.Command{
	Name:     "udpchat-server",
	Synopsis: "[--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--log-level LEVEL]",
	About: "Runs a udpchat server. It logs to standard error, and logs \"server ready\" with the bound address when it is.\n" +
		"Its identity key is created in the data directory on first start; its fingerprint is logged at startup.",
	Flags: []cli.Flag{
		{Name: "listen", Key: "server.listen", Usage: "address to listen on, `HOST:PORT` (default 0.0.0.0:12345)"},
		{Name: "data-dir", Key: "server.data_dir", Usage: "where the identity key lives, `DIR` (default ~/.local/share/udpchat)"},
		{Name: "log-format", Key: "log.format", Usage: "log format: text or json"},
	},
}

// Main is the udpchat-server program: it runs Run with the process's
// arguments, environment and standard error, stops on SIGINT or SIGTERM, and
// exits with Run's code. A main package calls it after importing the
// implementations it wants registered (standard, for all of udpchat's).
func Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := Run(ctx, os.Args[1:], os.Environ(), os.Stderr)
	stop()
	os.Exit(code)
}

// Run is the whole program, minus the process: it parses args (without the
// program's name) and environ, serves until ctx is done, reports on stderr,
// and returns the exit code (0, 1 for a failure, 2 for a bad command line).
// It uses the codecs, suites, reliability layers and transports registered
// in core's registries when it is called, and registers none itself.
func Run(ctx context.Context, args, environ []string, stderr io.Writer) int {
	cfg, rest, err := command.Parse(args, environ, stderr)
	if err == nil && len(rest) > 0 && rest[0] == "admin" {
		return adminCommand(cfg, rest[1:], stderr)
	}
	if err == nil && len(rest) > 0 {
		err = &cli.UsageError{Err: fmt.Errorf("unexpected argument %q", rest[0])}
	}
	if err != nil {
		return command.Exit(err, stderr)
	}
	// A reload reads the configuration as the server started with it: the
	// same file, flags and environment.
	load := func() (config.Config, error) {
		cfg, _, err := command.Parse(args, environ, io.Discard)
		return cfg, err
	}
	return command.Exit(serve(ctx, cfg, load, stderr), stderr)
}

// adminCommand is `udpchat-server admin`: a request to the server whose data
// directory (or admin socket) the configuration names.
func adminCommand(cfg config.Config, words []string, stderr io.Writer) int {
	dir, err := dataDir(cfg)
	var path string
	if err == nil {
		path, err = adminPath(cfg.Server.AdminSocket, dir)
	}
	if err == nil && path == "" {
		err = errors.New("server.admin_socket is off")
	}
	if err != nil {
		fmt.Fprintf(stderr, "udpchat-server admin: %v\n", err)
		return 1
	}
	return runAdmin(path, words, os.Stdout, stderr)
}

// dataDir is the server's data directory: server.data_dir, or the default.
func dataDir(cfg config.Config) (string, error) {
	if cfg.Server.DataDir != "" {
		return cfg.Server.DataDir, nil
	}
	dir, err := identity.DefaultDataDir()
	if err != nil {
		return "", fmt.Errorf("server.data_dir: %w", err)
	}
	return dir, nil
}

// serve runs the server cfg describes until ctx is done; load reads the
// configuration again, for reloads.
func serve(ctx context.Context, cfg config.Config, load func() (config.Config, error), logw io.Writer) error {
	log := cfg.Log.NewLogger(logw)
	// From the start, so that a SIGHUP sent early does not end the server,
	// as it would by default.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	layers, err := cfg.Layers()
	if err != nil {
		return err
	}
	addr, err := config.ResolveUDP(cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	t, err := cli.Listen(cfg, layers.Network, netip.AddrPortFrom(addr.Addr(), addr.Port()), log)
	if err != nil {
		return err
	}
	// The address is taken first: a server that cannot listen creates nothing.
	dir, err := dataDir(cfg)
	if err != nil {
		t.Close()
		return err
	}
	key, created, err := identity.LoadOrCreate(dir)
	if err != nil {
		t.Close()
		return fmt.Errorf("server.data_dir: %w", err)
	}
	fp := identity.Fingerprint(key.Public().(ed25519.PublicKey))
	if created {
		log.Info("created a new server identity key", "dir", dir, "fingerprint", fp)
	} else {
		log.Info("server identity", "dir", dir, "fingerprint", fp)
	}
	var regs *server.Registrations
	if cfg.Server.Register != string(server.RegisterOff) {
		// Read before anything starts: a store that cannot be read must
		// stop the server, not let it forget who owns which name.
		if regs, err = server.OpenRegistrations(filepath.Join(dir, server.RegistrationsFile)); err != nil {
			t.Close()
			return fmt.Errorf("server.data_dir: %w", err)
		}
		log.Info("nickname registrations", "mode", cfg.Server.Register, "registered", regs.Len())
	}
	bans, err := server.OpenBans(filepath.Join(dir, server.BansFile))
	if err != nil {
		t.Close()
		return fmt.Errorf("server.data_dir: %w", err)
	}
	// The rooms' logs, and the broker they live on: closed in that order
	// when the server is done (deferred calls run last first).
	rooms, err := OpenRooms(ctx, cfg, dir, log)
	if err != nil {
		t.Close()
		return err
	}
	defer rooms.Close()
	// Plugins start before the server, which they are handed once it exists.
	room := new(plugins.LateRoom)
	set, err := plugins.StartAll(ctx, pluginConfigs(cfg.Plugins, dir), room, log)
	if err != nil {
		t.Close()
		return err
	}
	r := &reloader{load: load, dir: dir, room: room, log: log, started: cfg, cfg: cfg, done: make(chan struct{})}
	r.set.Store(set)
	defer r.Close()
	if states := set.States(); len(states) > 0 {
		log.Info("plugins", "states", states)
	}
	srv, err := server.New(server.Config{
		Transport:            t,
		Codec:                layers.Codec,
		Codecs:               layers.Codecs,
		Suite:                layers.Suite,
		Suites:               layers.Suites,
		Reliability:          layers.Reliability,
		V1Reliability:        stopwait.Layer{}, // the seed's, whatever v2 uses
		ReliabilityConfig:    cfg.ReliabilityConfig(),
		Identity:             key,
		Register:             server.RegisterMode(cfg.Server.Register),
		Registrations:        regs,
		Bans:                 bans,
		Operators:            cfg.Server.Operators,
		Handlers:             set.Middlewares(),
		Observers:            set.Observers(),
		Reserved:             pluginNames(cfg.Plugins),
		MaxSessions:          cfg.Server.MaxSessions,
		MaxSessionsPerAddr:   cfg.Server.MaxSessionsPerAddr,
		MaxSessionsPerPrefix: cfg.Server.MaxSessionsPerPrefix,
		IdleTimeout:          cfg.Server.IdleTimeout,
		V1IdleTimeout:        cfg.Server.V1IdleTimeout,
		History:              cfg.Server.History,
		MOTD:                 cfg.Server.MOTD,
		MaxChannels:          cfg.Server.MaxChannels,
		RoomLog:              rooms.Log,
		ResumeKey:            rooms.ResumeKey,
		Directory:            rooms.Directory,
		RateLimit:            server.RateLimit{Rate: cfg.Server.Rate, Burst: cfg.Server.Burst, MaxLag: cfg.Server.MaxLag},
		RecipientQueue:       cfg.Server.RecipientQueue,
		RetransmitCap:        cfg.Server.RetransmitCap,
		HandlerDeadline:      cfg.Server.HandlerDeadline,
		HandshakeLimit:       server.RateLimit{Rate: cfg.Server.HandshakeRate, Burst: cfg.Server.HandshakeBurst},
		CookieThreshold:      cfg.Server.CookieThreshold,
		Env:                  core.Env{Logger: log},
	})
	if err != nil {
		t.Close()
		return err
	}
	room.Set(srv)
	r.srv = srv
	path, err := adminPath(cfg.Server.AdminSocket, dir)
	if err != nil {
		t.Close()
		return err
	}
	if path != "" {
		a, err := listenAdmin(path, srv, r.reload, log)
		if err != nil {
			t.Close()
			return err
		}
		defer a.Close()
	}
	stopHTTP, err := startAdminHTTP(cfg.Server, srv, r.pluginStats, log)
	if err != nil {
		t.Close()
		return err
	}
	defer stopHTTP()
	ctx, cancel := context.WithCancel(ctx)
	var reloads sync.WaitGroup
	reloads.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading the configuration")
				r.reload(ctx) // it logs what it did
			}
		}
	})
	defer reloads.Wait()
	defer cancel()
	return srv.Serve(ctx)
}

// Rooms is where the rooms' logs live, as the broker.* configuration
// says: what server.Config's RoomLog and ResumeKey take.
type Rooms struct {
	// Log is the rooms' log.
	Log core.RoomLog
	// Broker is the NATS it is on; nil in mode memory.
	Broker *broker.Broker
	// ResumeKey is the key of resume tokens the servers on Broker share;
	// nil in mode memory, where the server draws one.
	ResumeKey []byte
	// Directory is the presence the servers on Broker share (nicknames,
	// /who, /msg across nodes); nil in mode memory.
	Directory core.Directory
}

// OpenRooms opens the room log broker.mode says: in memory, or on
// JetStream through a broker (an embedded NATS storing under dir/nats, by
// default), whose shared "resume" secret then keys resume tokens, so that
// a client resumes after a restart and on another node. Retention is
// broker.max_messages and broker.max_age either way. Close closes it all.
func OpenRooms(ctx context.Context, cfg config.Config, dir string, log *slog.Logger) (*Rooms, error) {
	retention := core.RoomLogConfig{MaxEntries: cfg.Broker.MaxMessages, MaxAge: cfg.Broker.MaxAge}
	if cfg.Broker.Mode == config.BrokerMemory {
		d, err := core.RoomLogs.Lookup("memory")
		if err != nil {
			return nil, fmt.Errorf("broker.mode memory: %w", err)
		}
		l, err := d.Open(ctx, retention)
		if err != nil {
			return nil, fmt.Errorf("room log: %w", err)
		}
		return &Rooms{Log: l}, nil
	}
	bc := cfg.Broker
	name := bc.Name
	if name == "" {
		name = broker.DefaultName(cfg.Server.Listen)
	}
	b, err := broker.Open(ctx, broker.Config{
		Mode: bc.Mode, Name: name, DataDir: dir, Replicas: bc.Replicas,
		Cluster: broker.Cluster{Listen: bc.Cluster.Listen, Name: bc.Cluster.Name, Routes: bc.Cluster.Routes,
			User: bc.Cluster.User, Password: bc.Cluster.Password},
		URL: bc.URL, Creds: bc.Creds,
		TLS: broker.TLS{CA: bc.TLS.CA, Cert: bc.TLS.Cert, Key: bc.TLS.Key},
	}, log)
	if err != nil {
		return nil, err
	}
	r := &Rooms{Broker: b}
	if r.ResumeKey, err = b.Secret(ctx, "resume"); err != nil {
		b.Close()
		return nil, err
	}
	if r.Log, err = jetstream.Open(ctx, b.JetStream(), retention, jetstream.Options{Replicas: b.Replicas(), Alone: b.Alone(), Logger: log}); err != nil {
		b.Close()
		return nil, err
	}
	// The lobby's stream is the first thing the server asks of the log,
	// and a cluster still forming may leave that unanswered (a node
	// stopped at 'bounds room "lobby": context deadline exceeded' in
	// TestCluster): ask until it settles, as for the secret.
	err = settle.Retry(ctx, log, "room log: the lobby", func(c context.Context) error {
		_, err := r.Log.Bounds(c, core.LobbyRoom)
		return err
	})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("room log: %w", err)
	}
	// The node's presence name is the broker's when the configuration
	// gives one; otherwise one drawn at random, since the default broker
	// name of two nodes listening on port 0 of one host is the same.
	opts := []presence.Option{presence.WithReplicas(b.Replicas())}
	if bc.Name != "" {
		opts = append(opts, presence.WithNode(bc.Name))
	}
	if r.Directory, err = presence.New(b.Conn(), b.JetStream(), log, opts...); err != nil {
		r.Close()
		return nil, fmt.Errorf("broker.name: %w", err)
	}
	return r, nil
}

// Close closes the log, then the broker under it.
func (r *Rooms) Close() {
	r.Log.Close()
	if r.Broker != nil {
		r.Broker.Close()
	}
}

// pluginConfigs turns the configuration's plugin entries into the host's:
// each plugin's key-value store is under dir/plugins/NAME, a name being a
// nickname and so a safe file name, and one plugin's alone.
func pluginConfigs(ps []config.Plugin, dir string) []plugins.Config {
	out := make([]plugins.Config, len(ps))
	for i, p := range ps {
		out[i] = plugins.Config{
			Name: p.Name, Path: p.Path, Args: p.Args, SHA256: p.SHA256, Env: p.Env, Config: p.Config,
			Timeout: p.Timeout, FailClosed: p.Policy == "fail-closed", Events: p.Events, Private: p.Private,
			StateDir: filepath.Join(dir, "plugins", core.FoldName(p.Name)),
		}
	}
	return out
}

// pluginNames are the names plugins post under, which no one may take.
func pluginNames(ps []config.Plugin) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names
}
