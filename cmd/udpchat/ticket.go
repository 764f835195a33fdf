package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/identity"
)

// A ticket file keeps a version 2 session's resume ticket (client.Ticket)
// across processes, so that a client killed and started again with the
// same nickname and server resumes its session: it gets its nickname back
// at once, and the room replays what it missed. One file per server and
// configured nickname, mode 0600: the token in it lets whoever holds it
// take over the session.

// DefaultStateDir returns the client's default state directory:
// $XDG_STATE_HOME/udpchat if XDG_STATE_HOME is set to an absolute path (the
// XDG spec says to ignore a relative one), else ~/.local/state/udpchat.
func DefaultStateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "udpchat"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no default state directory (set XDG_STATE_HOME or configure client.state_dir): %w", err)
	}
	return filepath.Join(home, ".local", "state", "udpchat"), nil
}

// stateDir is the configured state directory, or the default one
// (DefaultStateDir) when none is configured.
func stateDir(configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	return DefaultStateDir()
}

// ticketFile is a ticket file's content. Server and Nick say what it is
// the ticket of, so that a file is never used for another server or name.
type ticketFile struct {
	Server  string `json:"server"`
	Nick    string `json:"nick"`    // the configured nickname the file is keyed by
	Current string `json:"current"` // the nickname the client has (client.Ticket.Nick)
	Session uint64 `json:"session"`
	Epoch   uint64 `json:"epoch"`
	Offset  uint64 `json:"offset"`
	Token   string `json:"token"` // hex
}

// ticketPath is where the ticket of nick on server is kept in dir: a hash
// of both, so that any nickname makes a file name.
func ticketPath(dir string, server netip.AddrPort, nick string) string {
	sum := sha256.Sum256([]byte(server.String() + "\x00" + nick))
	return filepath.Join(dir, "ticket-"+hex.EncodeToString(sum[:12])+".json")
}

// ticketStore reads and writes the ticket file of one server and
// nickname. Tickets are written as they come (a new token must survive a
// SIGKILL at once); offsets, which change with every message, at most
// every offsetEvery, and at Close.
type ticketStore struct {
	path   string
	server netip.AddrPort
	nick   string

	mu      sync.Mutex
	ticket  client.Ticket
	dirty   bool // offset newer than the file's
	written time.Time
}

// offsetEvery bounds how often a busy room's offsets are written: a
// client killed meanwhile is shown again at most that much of the room
// after it resumes, in a new process.
const offsetEvery = time.Second

func newTicketStore(dir string, server netip.AddrPort, nick string) *ticketStore {
	return &ticketStore{path: ticketPath(dir, server, nick), server: server, nick: nick}
}

// openTickets returns the ticket store of the configured nickname on
// server, and the ticket on file to resume, if any. Without a configured
// nickname there is none: a guest name is the server's choice, and two
// guests on one machine must not take over each other's session. Trouble
// with the file is logged, not fatal: the client then starts afresh.
func openTickets(dir, nick string, server netip.AddrPort, log *slog.Logger) (*ticketStore, *client.Ticket) {
	if nick == "" {
		return nil, nil
	}
	dir, err := stateDir(dir)
	if err != nil {
		log.Warn("not keeping a resume ticket", "err", err)
		return nil, nil
	}
	// A ticket someone else could plant would resume their session.
	if err := identity.CheckNotWritable("state directory", dir); err != nil {
		log.Warn("not keeping a resume ticket", "err", err)
		return nil, nil
	}
	s := newTicketStore(dir, server, nick)
	t, err := s.Load()
	if err != nil {
		log.Warn("not resuming", "err", err)
		return s, nil
	}
	if t != nil {
		log.Info("resuming the session on file", "path", s.path, "session", fmt.Sprintf("%016x", t.Session), "epoch", t.Epoch, "offset", t.Offset)
	}
	return s, t
}

// keep passes the client's events to s, logging what it cannot write.
func (s *ticketStore) keep(e client.Event, log *slog.Logger) {
	if err := s.observe(e); err != nil {
		log.Warn("cannot keep the resume ticket", "err", err)
	}
}

// flush is Flush, logging what it cannot write.
func (s *ticketStore) flush(log *slog.Logger) {
	if err := s.Flush(); err != nil {
		log.Warn("cannot keep the resume ticket", "err", err)
	}
}

// Load returns the ticket on file, or nil if there is none. A file that is
// not a ticket of this server and nickname is an error, and ignored.
func (s *ticketStore) Load() (*client.Ticket, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resume ticket: %w", err)
	}
	var f ticketFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("resume ticket %s: %w", s.path, err)
	}
	if f.Server != s.server.String() || f.Nick != s.nick {
		return nil, fmt.Errorf("resume ticket %s is for %q on %s, not %q on %s", s.path, f.Nick, f.Server, s.nick, s.server)
	}
	t := client.Ticket{Session: f.Session, Epoch: f.Epoch, Offset: f.Offset, Nick: f.Current}
	if n, err := hex.Decode(t.Token[:], []byte(f.Token)); err != nil || n != len(t.Token) || len(f.Token) != 2*len(t.Token) {
		return nil, fmt.Errorf("resume ticket %s: malformed token", s.path)
	}
	if !t.Valid() {
		return nil, nil
	}
	s.mu.Lock()
	s.ticket = t
	s.mu.Unlock()
	return &t, nil
}

// Save writes a new ticket at once.
func (s *ticketStore) Save(t client.Ticket) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ticket = t
	return s.writeLocked()
}

// Shown records the offset of a room message shown, writing it if the
// file has not been written for offsetEvery.
func (s *ticketStore) Shown(offset uint64, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ticket.Valid() || offset <= s.ticket.Offset {
		return nil
	}
	s.ticket.Offset, s.dirty = offset, true
	if now.Sub(s.written) < offsetEvery {
		return nil
	}
	return s.writeLocked()
}

// Flush writes an offset not yet written. A nil store has nothing to
// write.
func (s *ticketStore) Flush() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return nil
	}
	return s.writeLocked()
}

// observe keeps the file up to date with one of the client's events. A
// nil store keeps nothing.
func (s *ticketStore) observe(e client.Event) error {
	if s == nil {
		return nil
	}
	switch e := e.(type) {
	case client.TicketEvent:
		return s.Save(e.Ticket)
	case client.MessageEvent:
		if e.Offset != 0 {
			return s.Shown(e.Offset, time.Now())
		}
	}
	return nil
}

// writeLocked replaces the file with the ticket, atomically, so that a
// crash leaves the old ticket or the new one, never half of one. s.mu
// must be held.
func (s *ticketStore) writeLocked() error {
	t := s.ticket
	b, err := json.MarshalIndent(ticketFile{
		Server: s.server.String(), Nick: s.nick, Current: t.Nick,
		Session: t.Session, Epoch: t.Epoch, Offset: t.Offset, Token: hex.EncodeToString(t.Token[:]),
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(s.path, append(b, '\n')); err != nil {
		return fmt.Errorf("resume ticket: %w", err)
	}
	s.dirty, s.written = false, time.Now()
	return nil
}

// writeAtomic writes data to path through a temporary file in the same
// directory, mode 0600 from the start, and renames it into place; the
// directory is made 0700 if missing.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".ticket-*") // 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
