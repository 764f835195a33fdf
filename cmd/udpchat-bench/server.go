package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/cmd/internal/cli"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/udp"
)

// Layers are the implementations a run uses, looked up by the names the
// project registers them under (standard).
type Layers struct {
	Codec       core.Codec
	Suite       core.Suite
	Reliability core.Reliability
	RelConfig   core.ReliabilityConfig
}

// lookupLayers finds the named implementations.
func lookupLayers(codec, suite, reliability string, rc core.ReliabilityConfig) (Layers, error) {
	var l Layers
	var errs [3]error
	l.Codec, errs[0] = core.Codecs.Lookup(codec)
	l.Suite, errs[1] = core.Suites.Lookup(suite)
	l.Reliability, errs[2] = core.Reliabilities.Lookup(reliability)
	l.RelConfig = rc
	if err := errors.Join(errs[:]...); err != nil {
		return l, fmt.Errorf("layers: %w", err)
	}
	return l, nil
}

// ServerOptions configure the bench's own server, for load: no rate limits,
// no history, room for every client.
type ServerOptions struct {
	Listen         netip.AddrPort
	Codec          string // a registered codec, or "auto" for all that sniff
	Suite          string // offered first to version 2 clients
	Reliability    string
	RelConfig      core.ReliabilityConfig
	MaxSessions    int
	RecipientQueue int    // 0: core's default
	LogLevel       string // debug, info, warn, error
	LogFile        string // "-" logs to standard error
}

// newLoadServer builds a server.Server configured for load testing on t.
func newLoadServer(o ServerOptions, t core.Transport, logw io.Writer) (*server.Server, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return nil, fmt.Errorf("server log level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: lv}))
	cfg := server.Config{
		Transport:         t,
		Suite:             seed.Suite{}, // version 1 speaks only the seed's
		V1Reliability:     stopwait.Layer{},
		ReliabilityConfig: o.RelConfig,
		MaxSessions:       max(o.MaxSessions, 16),
		MaxHalfOpen:       max(o.MaxSessions, 16),
		// Every bench client is on loopback: no per-address cap.
		MaxSessionsPerAddr: -1, MaxSessionsPerPrefix: -1,
		// No handshake limit, rate limit or history: zero is off.
		RecipientQueue: o.RecipientQueue,
		Env:            core.Env{Logger: log},
	}
	var err error
	if cfg.Reliability, err = core.Reliabilities.Lookup(o.Reliability); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if o.Codec == "auto" {
		for _, name := range core.Codecs.Names() {
			c, _ := core.Codecs.Lookup(name)
			if _, ok := c.(core.Sniffer); !ok {
				continue
			}
			if name == "json" {
				cfg.Codecs = append([]core.Codec{c}, cfg.Codecs...)
			} else {
				cfg.Codecs = append(cfg.Codecs, c)
			}
		}
		if len(cfg.Codecs) == 0 {
			return nil, errors.New("server: codec auto: no codec sniffs its datagrams")
		}
		cfg.Codec, cfg.Codecs = cfg.Codecs[0], cfg.Codecs[1:]
	} else if cfg.Codec, err = core.Codecs.Lookup(o.Codec); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	first, err := core.Suites.Lookup(o.Suite)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if first.Name() != seed.Name {
		cfg.Suites = append(cfg.Suites, first)
	}
	for _, name := range core.Suites.Names() {
		if s, _ := core.Suites.Lookup(name); name != o.Suite && name != seed.Name {
			cfg.Suites = append(cfg.Suites, s)
		}
	}
	// A fresh identity, never written anywhere: version 2 needs one.
	if _, cfg.Identity, err = ed25519.GenerateKey(nil); err != nil {
		return nil, fmt.Errorf("server identity: %w", err)
	}
	srv, err := server.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return srv, nil
}

// listenLoadServer builds the load server on a socket of its own, logging
// where o says; closeLog closes the log once the server has stopped.
func listenLoadServer(o ServerOptions, stderr io.Writer) (srv *server.Server, closeLog func(), err error) {
	t, err := udp.Network{}.Listen(o.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("server: %w", err)
	}
	logw, closeLog, err := cli.OpenLog(o.LogFile, stderr)
	if err != nil {
		t.Close()
		return nil, nil, fmt.Errorf("server log: %w", err)
	}
	if srv, err = newLoadServer(o, t, logw); err != nil {
		t.Close()
		closeLog()
		return nil, nil, err
	}
	return srv, closeLog, nil
}

// Server is the server a run loads, wherever it runs.
type Server interface {
	// Kind is "spawn", "inproc" or "external".
	Kind() string
	Addr() netip.AddrPort
	// Sample reads the server process's CPU and memory; ok is false where
	// they cannot be told apart from the bench's own (inproc) or the
	// process is unknown (external without -server-pid).
	Sample() (s ProcSample, ok bool)
	// Stop stops a server the bench started and returns its final
	// counters, if it can see them.
	Stop() (*server.Stats, error)
}

// inprocServer is a server.Server in the bench's own process.
type inprocServer struct {
	srv     *server.Server
	cancel  context.CancelFunc
	done    chan error
	closeLg func()
}

// startInproc starts a server in this process.
func startInproc(o ServerOptions, stderr io.Writer) (*inprocServer, error) {
	srv, closeLog, err := listenLoadServer(o, stderr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &inprocServer{srv: srv, cancel: cancel, done: make(chan error, 1), closeLg: closeLog}
	go func() { s.done <- srv.Serve(ctx) }()
	return s, nil
}

func (s *inprocServer) Kind() string             { return "inproc" }
func (s *inprocServer) Addr() netip.AddrPort     { return s.srv.Addr() }
func (*inprocServer) Sample() (ProcSample, bool) { return ProcSample{}, false }
func (s *inprocServer) Stop() (*server.Stats, error) {
	s.cancel()
	err := <-s.done
	s.closeLg()
	st := s.srv.Stats()
	if err != nil {
		return &st, fmt.Errorf("server: %w", err)
	}
	return &st, nil
}

// externalServer is a server the bench did not start: at -server HOST:PORT.
type externalServer struct {
	addr netip.AddrPort
	pid  int // 0: unknown
}

func (s *externalServer) Kind() string         { return "external" }
func (s *externalServer) Addr() netip.AddrPort { return s.addr }
func (s *externalServer) Sample() (ProcSample, bool) {
	if s.pid <= 0 {
		return ProcSample{}, false
	}
	p, err := readProc(s.pid)
	return p, err == nil
}
func (*externalServer) Stop() (*server.Stats, error) { return nil, nil }

// waitTimeout bounds a wait for a child process.
const waitTimeout = 10 * time.Second
