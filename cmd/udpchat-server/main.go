// Command udpchat-server runs a udpchat server: with no configuration it
// listens on 0.0.0.0:12345 and speaks the seed protocol, like the seed's server.
package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/udpchat/udpchat/cmd/internal/cli"
	"github.com/udpchat/udpchat/cmd/internal/standard"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/core/config"
)

var command = cli.Command{
	Name:     "udpchat-server",
	Synopsis: "[--config FILE] [--listen HOST:PORT] [--log-level LEVEL]",
	About:    "Runs a udpchat server. It logs to standard error, and logs \"server ready\" with the bound address when it is.",
	Flags: []config.Flag{
		{Name: "listen", Key: "server.listen", Usage: "address to listen on, `HOST:PORT` (default 0.0.0.0:12345)"},
		{Name: "log-format", Key: "log.format", Usage: "log format: text or json"},
	},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stderr))
}

// run is the whole program, minus the process: tests call it.
func run(ctx context.Context, args, environ []string, stderr io.Writer) int {
	standard.Register()
	cfg, rest, err := command.Parse(args, environ, stderr)
	if err == nil && len(rest) > 0 {
		err = &cli.UsageError{Err: fmt.Errorf("unexpected argument %q", rest[0])}
	}
	if err != nil {
		return command.Exit(err, stderr)
	}
	return command.Exit(serve(ctx, cfg, stderr), stderr)
}

func serve(ctx context.Context, cfg config.Config, logw io.Writer) error {
	log := cfg.Log.NewLogger(logw)
	layers, err := cfg.Layers()
	if err != nil {
		return err
	}
	addr, err := config.ResolveUDP(cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	t, err := layers.Network.Listen(netip.AddrPortFrom(addr.Addr(), addr.Port()))
	if err != nil {
		return err
	}
	srv, err := core.NewServer(core.ServerConfig{
		Transport:         t,
		Codec:             layers.Codec,
		Suite:             layers.Suite,
		Reliability:       layers.Reliability,
		ReliabilityConfig: cfg.ReliabilityConfig(),
		MaxSessions:       cfg.Server.MaxSessions,
		IdleTimeout:       cfg.Server.IdleTimeout,
		Env:               core.Env{Logger: log},
	})
	if err != nil {
		t.Close()
		return err
	}
	return srv.Serve(ctx)
}
