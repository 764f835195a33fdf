package servercmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/udpchat/udpchat/server"
)

// The admin control path: the operator of the machine lists sessions and
// kicks without joining the chat, over a Unix socket in the data directory
// that only the server's user may open (mode 0600), as `udpchat-server
// admin COMMAND`. One request per connection: a line of words, answered
// with "ok" or "error: why" and then the answer's lines.

// AdminSocket is the name of the admin socket in the data directory.
const AdminSocket = "admin.sock"

// maxAdminRequest bounds a request line; adminTimeout bounds a connection.
const (
	maxAdminRequest = 4096
	adminTimeout    = 10 * time.Second
)

// maxSocketPath is the longest path a Unix socket may have (sun_path, 108
// bytes on Linux, 104 on the BSDs, less its terminating NUL).
const maxSocketPath = 103

// adminPath is where the admin socket of a server with data directory
// dir lives, as configured: "" for the default, "off" for none.
func adminPath(configured, dir string) (string, error) {
	switch configured {
	case "off":
		return "", nil
	case "":
		configured = filepath.Join(dir, AdminSocket)
	}
	if len(configured) > maxSocketPath {
		return "", fmt.Errorf("server.admin_socket: %q is %d bytes, and a Unix socket's path has at most %d: set server.admin_socket to a shorter one, or off", configured, len(configured), maxSocketPath)
	}
	return configured, nil
}

// admin is the admin socket's server side.
type admin struct {
	srv    *server.Server
	reload func(context.Context) (string, error)
	log    *slog.Logger
	ln     net.Listener
	wg     sync.WaitGroup
}

// listenAdmin opens the admin socket at path. A socket left there by a
// server that is gone is replaced; one a running server answers on is
// not.
func listenAdmin(path string, srv *server.Server, reload func(context.Context) (string, error), log *slog.Logger) (*admin, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("server.admin_socket: another server answers on %s", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("server.admin_socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("server.admin_socket: %w", err)
	}
	// Listen made it with the umask's mode: nobody else may kick.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("server.admin_socket: %w", err)
	}
	a := &admin{srv: srv, reload: reload, log: log, ln: ln}
	a.wg.Go(a.serve)
	log.Info("admin socket", "path", path)
	return a, nil
}

// Close stops the admin socket and waits for the requests under way.
func (a *admin) Close() {
	a.ln.Close()
	a.wg.Wait()
}

func (a *admin) serve() {
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return // closed
		}
		a.wg.Go(func() { a.handle(c) })
	}
}

func (a *admin) handle(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(adminTimeout))
	line, err := bufio.NewReaderSize(io.LimitReader(c, maxAdminRequest), maxAdminRequest).ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		fmt.Fprintf(c, "error: a request is one line of at most %d bytes\n", maxAdminRequest)
		return
	}
	words := strings.Fields(line)
	answer, err := a.do(words)
	if err != nil {
		a.log.Warn("admin request refused", "request", strings.Join(words, " "), "err", err)
		fmt.Fprintf(c, "error: %v\n", err)
		return
	}
	a.log.Info("admin request", "request", strings.Join(words, " "))
	fmt.Fprintf(c, "ok\n%s", answer)
}

// adminCommands are the requests, for the usage.
const adminCommands = "sessions | reload | kick NAME [REASON] | ban NAME|key:FINGERPRINT|ip:ADDRESS|nick:NAME [DURATION] [REASON] | unban TARGET | bans"

// do answers one request.
func (a *admin) do(words []string) (string, error) {
	if len(words) == 0 {
		return "", fmt.Errorf("no command: want %s", adminCommands)
	}
	switch words[0] {
	case "sessions":
		var b strings.Builder
		for _, s := range a.srv.Sessions() {
			key := s.Key
			if key == "" {
				key = "-"
			}
			fmt.Fprintf(&b, "%s\t%s\tv%d\t%s\tidle %s\t%s\n", s.Name, s.Addr, s.Version, key,
				s.Idle.Truncate(time.Second), strings.Join(s.Channels, ","))
		}
		return b.String(), nil
	case "kick":
		if len(words) < 2 {
			return "", errors.New("usage: kick NAME [REASON]")
		}
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		if err := a.srv.Kick(ctx, words[1], strings.Join(words[2:], " ")); err != nil {
			return "", err
		}
		return "kicked " + words[1] + "\n", nil
	case "ban":
		if len(words) < 2 {
			return "", errors.New("usage: ban NAME|key:FINGERPRINT|ip:ADDRESS|nick:NAME [DURATION] [REASON]")
		}
		var d time.Duration
		reason := words[2:]
		if len(reason) > 0 {
			if v, err := time.ParseDuration(reason[0]); err == nil {
				d, reason = v, reason[1:]
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		ban, err := a.srv.Ban(ctx, words[1], d, "the server's operator", strings.Join(reason, " "))
		if err != nil {
			return "", err
		}
		return "banned " + ban.String() + "\n", nil
	case "unban":
		if len(words) != 2 {
			return "", errors.New("usage: unban NAME|key:FINGERPRINT|ip:ADDRESS|nick:NAME")
		}
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		if err := a.srv.Unban(ctx, words[1], "the server's operator"); err != nil {
			return "", err
		}
		return "lifted the ban of " + words[1] + "\n", nil
	case "reload":
		if len(words) != 1 {
			return "", errors.New("usage: reload")
		}
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		answer, err := a.reload(ctx)
		if err != nil {
			return "", err
		}
		return answer + "\n", nil
	case "bans":
		var b strings.Builder
		for _, ban := range a.srv.BanList() {
			b.WriteString(ban.String() + "\n")
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("unknown command %q: want %s", words[0], adminCommands)
}

// runAdmin is `udpchat-server admin COMMAND...`: it sends the request to
// the server whose admin socket path is, prints the answer on stdout, or
// the error on stderr, and returns the exit code.
func runAdmin(path string, words []string, stdout, stderr io.Writer) int {
	if len(words) == 0 {
		fmt.Fprintf(stderr, "usage: udpchat-server [--config FILE] [--data-dir DIR] admin %s\n", adminCommands)
		return 2
	}
	c, err := net.DialTimeout("unix", path, adminTimeout)
	if err != nil {
		fmt.Fprintf(stderr, "udpchat-server admin: no server answers on %s: %v\n", path, err)
		return 1
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(adminTimeout))
	if _, err := fmt.Fprintln(c, strings.Join(words, " ")); err != nil {
		fmt.Fprintf(stderr, "udpchat-server admin: %v\n", err)
		return 1
	}
	r := bufio.NewReader(c)
	status, err := r.ReadString('\n')
	if err != nil {
		fmt.Fprintf(stderr, "udpchat-server admin: no answer: %v\n", err)
		return 1
	}
	if status != "ok\n" {
		fmt.Fprintf(stderr, "udpchat-server admin: %s", strings.TrimPrefix(status, "error: "))
		return 1
	}
	if _, err := io.Copy(stdout, r); err != nil {
		fmt.Fprintf(stderr, "udpchat-server admin: %v\n", err)
		return 1
	}
	return 0
}
