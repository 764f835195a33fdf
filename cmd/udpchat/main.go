// Command udpchat is the udpchat client. It speaks protocol version 2 to a
// udpchat server and the seed protocol to a seed server. On a terminal it runs
// a full-screen chat UI; otherwise, or with --plain, a plain line mode: each
// line read from standard input is sent as a message, each message received
// is printed as "<sender> text", and notices go to standard error.
package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/cmd/internal/cli"
	"github.com/udpchat/udpchat/config"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/internal/termsafe"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/standard"
)

var command = cli.Command{
	Name:     "udpchat",
	Synopsis: "[--config FILE] [--plain] [--nick NAME] [--known-servers FILE] [--accept-new-key] [--state-dir DIR] [--data-dir DIR] [--anonymous] HOST:PORT[,HOST:PORT...]   (or HOST PORT)",
	About: "Connects to a udpchat server and chats: in a terminal UI on a terminal, else in plain mode.\n" +
		"In plain mode each line of standard input is sent,\n" +
		"each message received is printed as \"<sender> text\", notices go to standard error, and at the\n" +
		"end of input the client waits for every message to be acknowledged: it exits 0 if all were\n" +
		"delivered and 1 otherwise. Logs go to client.log.\n" +
		"Several servers of one room, separated by commas (or client.servers in the configuration):\n" +
		"the client moves to the next when its server stops answering, and resumes its session there.",
	Flags: []cli.Flag{
		{Name: "plain", Key: "client.plain", Bool: true, Usage: "plain line mode, even on a terminal"},
		{Name: "theme", Key: "client.theme", Usage: "colour `THEME`: color or mono (default: color, mono if NO_COLOR is set)"},
		{Name: "nick", Key: "client.nick", Usage: "nickname `NAME` (protocol version 2)"},
		{Name: "log-file", Key: "client.log_file", Usage: "log to `FILE` (- for standard error; default client.log in the state directory)"},
		{Name: "known-servers", Key: "client.known_servers", Usage: "pinned server keys `FILE` (default in your config directory)"},
		{Name: "accept-new-key", Key: "client.accept_new_key", Bool: true, Usage: "accept and pin a server key that differs from the pinned one"},
		{Name: "state-dir", Key: "client.state_dir", Usage: "keep resume tickets in `DIR` (default $XDG_STATE_HOME/udpchat)"},
		{Name: "data-dir", Key: "client.data_dir", Usage: "keep your identity key in `DIR` (default $XDG_DATA_HOME/udpchat)"},
		{Name: "anonymous", Key: "client.anonymous", Bool: true, Usage: "connect without your key: no registered nickname"},
	},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program, minus the process: tests call it.
func run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	standard.Register()
	cfg, rest, err := command.Parse(args, environ, stderr)
	if err != nil {
		return command.Exit(err, stderr)
	}
	servers, err := serverArgs(rest, cfg.Client.Servers)
	if err != nil {
		return command.Exit(err, stderr)
	}
	ui := !cfg.Client.Plain && isTerminal(stdin) && isTerminal(stdout)
	if ui && cfg.Client.LogFile == "-" {
		return command.Exit(errors.New("client.log_file: - (standard error) would write over the terminal UI; log to a file, or use --plain"), stderr)
	}
	logw, closeLog := openClientLog(cfg.Client.LogFile, cfg.Client.StateDir, ui, stderr)
	defer closeLog()
	log := cfg.Log.NewLogger(logw)
	if ui {
		return command.Exit(terminal(ctx, cfg, servers, log, stdin, stdout), stderr)
	}
	tickets, ticket := openTickets(cfg.Client.StateDir, cfg.Client.Nick, servers[0].addr, log)
	c, err := newClient(cfg, servers, log, false, ticket, func(msg string) { fmt.Fprintf(stderr, "udpchat: %s\n", termsafe.Line(msg)) })
	if err != nil {
		return command.Exit(err, stderr)
	}
	defer tickets.flush(log)
	delivered, err := plain(ctx, c, servers[0].addr, settleBound(cfg.ReliabilityConfig(), cfg.Client.Keepalive), stdin, stdout, stderr, func(e client.Event) { tickets.keep(e, log) })
	if err == nil && !delivered {
		return cli.ExitFail
	}
	return command.Exit(err, stderr)
}

// openClientLog opens the client's log: the file path, standard error for
// "-", or client.log in the state directory (configuredDir, or the
// default) for "". A log it cannot open does not stop the client: it says
// so on stderr and logs there instead, or, under the terminal UI, which
// stderr would write over, nowhere.
func openClientLog(path, configuredDir string, ui bool, stderr io.Writer) (io.Writer, func()) {
	var err error
	if path == "" {
		var dir string
		if dir, err = stateDir(configuredDir); err == nil {
			err = os.MkdirAll(dir, 0o700)
			path = filepath.Join(dir, "client.log")
		}
	}
	if err == nil {
		var w io.Writer
		var closeLog func()
		if w, closeLog, err = cli.OpenLog(path, stderr); err == nil {
			return w, closeLog
		}
	}
	if ui {
		fmt.Fprintf(stderr, "udpchat: warning: client.log_file: %v; not logging\n", err)
		return io.Discard, func() {}
	}
	fmt.Fprintf(stderr, "udpchat: warning: client.log_file: %v; logging to standard error\n", err)
	return stderr, func() {}
}

// target is a server the user named: the address it resolves to, and the
// name its key is pinned under (see serverArg).
type target struct {
	addr netip.AddrPort
	name string
}

// serverArgs takes the servers from the command line, HOST:PORT or
// host1:port,host2:port for several servers of one room, or HOST PORT as
// the seed's client does; without any there, those of client.servers.
func serverArgs(args, configured []string) ([]target, error) {
	var list []string
	switch len(args) {
	case 0:
		list = configured
	case 1:
		list = strings.Split(args[0], ",")
	case 2:
		list = []string{net.JoinHostPort(args[0], args[1])}
	}
	if len(list) == 0 || len(args) > 2 {
		return nil, &cli.UsageError{Err: errors.New("want the server as HOST:PORT or HOST PORT, several as host1:port,host2:port (or client.servers in the configuration)")}
	}
	servers := make([]target, len(list))
	for i, hostport := range list {
		addr, name, err := serverArg(hostport)
		if err != nil {
			return nil, &cli.UsageError{Err: fmt.Errorf("server address %q: %w", hostport, err)}
		}
		servers[i] = target{addr, name}
	}
	return servers, nil
}

// serverArg returns the address HOST:PORT resolves to and the name the
// server's key is pinned under: HOST:PORT as given, the host in lower
// case, or "" when HOST is an address (pinned by address alone).
func serverArg(hostport string) (netip.AddrPort, string, error) {
	addr, err := config.ResolveUDP(hostport)
	if err != nil {
		return netip.AddrPort{}, "", err
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, "", err
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return addr, "", nil
	}
	return addr, net.JoinHostPort(strings.ToLower(host), port), nil
}

// clientKey is the client's own key, kept in client.data_dir and created
// there on first use, or nil for an anonymous client (client.anonymous, or
// one that speaks only the seed's protocol, which has no place for it).
func clientKey(cc config.Client, log *slog.Logger) (ed25519.PrivateKey, error) {
	if cc.Anonymous || cc.Protocol < 2 {
		return nil, nil
	}
	dir := cc.DataDir
	if dir == "" {
		var err error
		if dir, err = identity.DefaultDataDir(); err != nil {
			return nil, fmt.Errorf("client.data_dir: %w", err)
		}
	}
	key, created, err := identity.LoadOrCreateClient(dir)
	if err != nil {
		return nil, fmt.Errorf("client.data_dir: %w", err)
	}
	fp := identity.Fingerprint(key.Public().(ed25519.PublicKey))
	if created {
		log.Info("created a new client identity key", "dir", dir, "fingerprint", fp)
	} else {
		log.Info("client identity", "dir", dir, "fingerprint", fp)
	}
	return key, nil
}

// serverPins checks each server's key under the name the user gave it
// (identity.Pins.Name), so that every server of a room is pinned on its
// own, trust on first use for each.
type serverPins map[netip.AddrPort]*identity.Pins

// Verify implements client.ServerVerifier.
func (p serverPins) Verify(server netip.AddrPort, key ed25519.PublicKey) error {
	return p[server].Verify(server, key)
}

// Pinned implements client.ServerVerifier.
func (p serverPins) Pinned(server netip.AddrPort) bool { return p[server].Pinned(server) }

// newClient builds the client engine the configuration describes, for
// servers (the first, then the others as fallbacks), to resume ticket if
// not nil. Each server's key is pinned under its name (see serverArg).
// notify hears of server keys pinned or replaced.
func newClient(cfg config.Config, servers []target, log *slog.Logger, reconnect bool, ticket *client.Ticket, notify func(string)) (*client.Client, error) {
	if cfg.Codec == config.AutoCodec {
		return nil, errors.New("codec: auto is for servers; a client speaks one codec, e.g. json or protobuf")
	}
	layers, err := cfg.Layers()
	if err != nil {
		return nil, err
	}
	// One socket speaks to every server: an IPv6 one (dual stack) if any
	// of them needs it.
	local := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	var fallbacks []netip.AddrPort
	for i, s := range servers {
		if s.addr.Addr().Is6() {
			local = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
		}
		if i > 0 {
			fallbacks = append(fallbacks, s.addr)
		}
	}
	known := cfg.Client.KnownServers
	if known == "" {
		if known, err = identity.DefaultKnownServersPath(); err != nil {
			return nil, fmt.Errorf("client.known_servers: %w", err)
		}
	}
	file := identity.KnownServers{Path: known}
	if err := file.CheckModes(); err != nil {
		return nil, fmt.Errorf("client.known_servers: %w", err)
	}
	pins := serverPins{}
	for _, s := range servers {
		pins[s.addr] = &identity.Pins{
			File:      file,
			AcceptNew: cfg.Client.AcceptNewKey,
			Name:      s.name,
			Notify:    notify,
		}
	}
	key, err := clientKey(cfg.Client, log)
	if err != nil {
		return nil, err
	}
	t, err := cli.Listen(cfg, layers.Network, local, log)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		Transport:         t,
		Server:            servers[0].addr,
		Fallbacks:         fallbacks,
		Codec:             layers.Codec,
		Suite:             layers.Suite,
		Reliability:       layers.Reliability,
		V1Reliability:     stopwait.Layer{}, // the seed's, whatever v2 uses
		ReliabilityConfig: cfg.ReliabilityConfig(),
		Nick:              cfg.Client.Nick,
		Identity:          key,
		MaxVersion:        uint8(cfg.Client.Protocol),
		RequireV2:         cfg.Client.RequireV2,
		Servers:           pins,
		Keepalive:         cfg.Client.Keepalive,
		Reconnect:         reconnect,
		Resume:            ticket,
		HandshakeRTO:      cfg.Client.HandshakeRTO,
		HandshakeRetries:  cfg.Client.HandshakeRetries,
		V1AckPause:        cfg.Client.V1AckPause,
		Env:               core.Env{Logger: log},
	})
	if err != nil {
		t.Close()
		return nil, err
	}
	return c, nil
}

// settleBound is how long plain mode waits, once its input has ended, for
// the next verdict on the lines it sent: longer than the client takes to
// give up on a line (a version 1 session's retries) or on a silent server
// (three keepalives, version 2), so that it ends with a dead server even if
// the client never gives up.
func settleBound(rc core.ReliabilityConfig, keepalive time.Duration) time.Duration {
	return max(2*rc.RTO*time.Duration(rc.MaxRetries+1), 3*keepalive) + 30*time.Second
}

// plain runs the plain line mode, server being the first server tried. It reports whether every line read was
// delivered: it waits for the server's verdict on each (delivered, refused,
// or given up on), at most bound after the last one once the input has
// ended, and says on stderr which lines were refused and why. Only a
// version 2 server's ACK says "refused"; a version 1 (seed) server's
// refusals are its notices, shown but matched to no line. observe sees
// every event of the client first.
func plain(ctx context.Context, c *client.Client, server netip.AddrPort, bound time.Duration, stdin io.Reader, stdout, stderr io.Writer, observe func(client.Event)) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()

	// Lines are read and sent by their own goroutine, so that reading
	// standard input never holds up printing what arrives.
	type sent struct {
		id   uint64
		line string
		err  error
	}
	sends := make(chan sent)
	go func() {
		defer close(sends)
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for sc.Scan() {
			line := strings.TrimSuffix(sc.Text(), "\r")
			id, err := c.Send(ctx, line)
			select {
			case sends <- sent{id, line, err}:
			case <-ctx.Done():
				return
			}
		}
		if err := sc.Err(); err != nil {
			select {
			case sends <- sent{err: fmt.Errorf("reading input: %w", err)}:
			case <-ctx.Done():
			}
		}
	}()

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	pending := make(map[uint64]string) // sent, not yet settled: the line
	settled := make(map[uint64]bool)   // settled before Send returned its id
	var timeout <-chan time.Time       // after the input ended: the bound on the wait for the next verdict
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	settle := func(id uint64) {
		if _, ok := pending[id]; !ok {
			settled[id] = true
		}
		delete(pending, id)
		if timer != nil {
			timer.Reset(bound) // from the last verdict
		}
	}
	allOK := true
	// last is the server of the last session, to say the client moved;
	// until there is one, what the client gives up on it gives up on with
	// Run's error, which run prints: one line, however many lines were
	// read meanwhile.
	var last netip.AddrPort
	// failed says on stderr, one line each, which line was refused or not
	// delivered, and why.
	failed := func(id uint64, verdict, line, why string) {
		allOK = false
		fmt.Fprintf(stderr, "udpchat: %s: %s: %s\n", verdict, termsafe.Line(line), termsafe.Line(why))
		settle(id)
	}
	// Every string the server controls (names, texts, notices, reasons,
	// the nickname it gave us) goes through termsafe.Line before it is
	// printed: a version 1 server is not authenticated, and a terminal
	// obeys the escape sequences such a string could hold.
	event := func(e client.Event) {
		observe(e)
		switch e := e.(type) {
		case client.MessageEvent:
			switch e.Message.Kind {
			case core.KindSystem, core.KindError:
				where := ""
				if e.Message.Room != "" {
					where = "[" + e.Message.Room + "] " // letters, digits, '-' and '_' (core.CheckChannel)
				}
				fmt.Fprintf(stderr, "udpchat: %s: %s%s\n", termsafe.Line(e.Message.From), where, termsafe.Line(e.Message.Text))
			default:
				fmt.Fprintln(out, termsafe.Line(e.Message.V1Text()))
				out.Flush()
			}
		case client.NoticeEvent:
			fmt.Fprintf(stderr, "udpchat: warning: %s\n", termsafe.Line(e.Text))
		case client.DeliveredEvent:
			settle(e.ID)
		case client.RefusedEvent:
			failed(e.ID, "refused", e.Text, e.Reason)
		case client.FailedEvent:
			if !last.IsValid() {
				allOK = false
				settle(e.ID)
				return
			}
			failed(e.ID, "not delivered", e.Text, e.Err.Error())
		case client.HandshakeFailedEvent:
			// Several servers: the client moves on (there is no
			// Reconnect in plain mode).
			fmt.Fprintf(stderr, "udpchat: %s; trying %s next\n", termsafe.Line(e.Err.Error()), e.Next)
		case client.StateEvent:
			if e.State == client.StateFailed && !last.IsValid() {
				return // Run's error says why, and where
			}
			at := server
			if e.Server.IsValid() {
				at = e.Server
			}
			var moved string
			if e.State == client.StateConnected {
				if last.IsValid() && last != at {
					moved = " (moved from " + last.String() + ")"
				}
				last = at
			}
			fmt.Fprintf(stderr, "udpchat: %s %s%s%s\n", e.State, at, moved, describe(e.Info))
		}
	}
	eof := false
	for !eof || len(pending) > 0 {
		select {
		case s, ok := <-sends:
			if !ok {
				eof, sends = true, nil
				timer = time.NewTimer(bound)
				timeout = timer.C
				continue
			}
			if s.err != nil {
				allOK = false
				fmt.Fprintf(stderr, "udpchat: not sent: %v\n", s.err)
				continue
			}
			if !settled[s.id] {
				pending[s.id] = s.line
			}
			delete(settled, s.id)
		case <-timeout:
			allOK = false
			if last.IsValid() {
				server = last
			}
			fmt.Fprintf(stderr, "udpchat: no answer from %s in %v: %d line(s) not known to be delivered\n", server, bound, len(pending))
			pending = nil
		case e := <-c.Events():
			event(e)
		case err := <-runErr:
			// What Run said before it ended may still be buffered: the
			// verdicts on the lines it gave up on, above all.
			for drained := false; !drained; {
				select {
				case e := <-c.Events():
					event(e)
				default:
					drained = true
				}
			}
			if err != nil {
				return false, err
			}
			return allOK && len(pending) == 0, nil
		}
	}
	cancel()
	// Drain events until Run ends, so that it never waits on us.
	for {
		select {
		case e := <-c.Events():
			observe(e)
		case err := <-runErr:
			return allOK, err
		}
	}
}

// describe says what a connected session is, for the user.
func describe(info *client.SessionInfo) string {
	if info == nil {
		return ""
	}
	if info.Version < 2 {
		return " (protocol 1, the seed's: server not authenticated)"
	}
	return fmt.Sprintf(" (protocol 2, %s, as %s, server key %s)", termsafe.Line(info.Suite), termsafe.Line(info.Nick), identity.Fingerprint(info.ServerKey))
}
