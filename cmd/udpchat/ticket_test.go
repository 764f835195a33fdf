package main

import (
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
)

var ticketServer = netip.MustParseAddrPort("127.0.0.1:12345")

func testTicket() client.Ticket {
	t := client.Ticket{Session: 0x0102030405060708, Epoch: 9, Offset: 4, Nick: "carol"}
	for i := range t.Token {
		t.Token[i] = byte(i)
	}
	return t
}

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestTicketStore: a ticket is written at once, 0600 in a 0700 directory
// made for it, and read back by a later process for the same server and
// nickname only; offsets shown are written at most every offsetEvery, and
// at the end.
func TestTicketStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := newTicketStore(dir, ticketServer, "alice")
	if got, err := s.Load(); got != nil || err != nil {
		t.Fatalf("Load with no file = %v, %v; want nothing", got, err)
	}
	want := testTicket()
	if err := s.observe(client.TicketEvent{Ticket: want}); err != nil {
		t.Fatal(err)
	}
	if p := perm(t, s.path); p != 0o600 {
		t.Errorf("ticket file mode %v, want 0600", p)
	}
	if p := perm(t, dir); p != 0o700 {
		t.Errorf("state directory mode %v, want 0700", p)
	}
	load := func() client.Ticket {
		t.Helper()
		got, err := newTicketStore(dir, ticketServer, "alice").Load()
		if err != nil || got == nil {
			t.Fatalf("Load = %v, %v", got, err)
		}
		return *got
	}
	if got := load(); got != want {
		t.Fatalf("loaded %+v, want %+v", got, want)
	}

	// Just written: the next offset waits for Flush, or for offsetEvery.
	if err := s.Shown(5, s.written); err != nil {
		t.Fatal(err)
	}
	if got := load(); got.Offset != 4 {
		t.Fatalf("offset %d on file at once, want 4 until a flush", got.Offset)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := load(); got.Offset != 5 {
		t.Fatalf("offset %d on file after a flush, want 5", got.Offset)
	}
	if err := s.observe(client.MessageEvent{Message: core.Message{ID: 6}, Offset: 6}); err != nil {
		t.Fatal(err)
	}
	if err := s.Shown(7, s.written.Add(offsetEvery)); err != nil {
		t.Fatal(err)
	}
	if got := load(); got.Offset != 7 {
		t.Fatalf("offset %d on file offsetEvery after the last write, want 7", got.Offset)
	}
	// Offsets of no ticket's epoch (0) and old ones change nothing.
	s.observe(client.MessageEvent{Message: core.Message{Kind: core.KindPrivate}})
	s.Shown(3, time.Now().Add(time.Hour))
	if got := load(); got.Offset != 7 {
		t.Fatalf("offset %d on file, want 7 still", got.Offset)
	}

	for _, other := range []*ticketStore{newTicketStore(dir, ticketServer, "bob"), newTicketStore(dir, netip.MustParseAddrPort("127.0.0.1:12346"), "alice")} {
		if got, err := other.Load(); got != nil || err != nil {
			t.Errorf("another server or nickname loaded %v, %v", got, err)
		}
	}
	// A file that claims to be another's is not used.
	wrong := newTicketStore(dir, ticketServer, "bob")
	wrong.path = s.path
	if got, err := wrong.Load(); got != nil || err == nil || !strings.Contains(err.Error(), "not \"bob\"") {
		t.Errorf("a ticket of alice's loaded for bob: %v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the state directory, want the ticket alone (no temporary file left)", len(entries))
	}
}

// TestTicketStoreRefusesGarbage: a damaged file is reported and not
// resumed from.
func TestTicketStoreRefusesGarbage(t *testing.T) {
	dir := t.TempDir()
	s := newTicketStore(dir, ticketServer, "alice")
	for _, content := range []string{"not json", `{"server": "127.0.0.1:12345", "nick": "alice", "session": 1, "token": "abcd"}`} {
		if err := os.WriteFile(s.path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Load(); got != nil || err == nil {
			t.Errorf("Load(%q) = %v, %v; want an error", content, got, err)
		}
	}
}

// TestOpenTickets: only a client with a nickname keeps a ticket, in the
// configured directory or the default one under XDG_STATE_HOME.
func TestOpenTickets(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if s, ticket := openTickets(t.TempDir(), "", ticketServer, log); s != nil || ticket != nil {
		t.Fatal("a client without a nickname keeps a ticket")
	}
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	if d, err := DefaultStateDir(); err != nil || d != filepath.Join(state, "udpchat") {
		t.Fatalf("DefaultStateDir = %q, %v", d, err)
	}
	s, ticket := openTickets("", "alice", ticketServer, log)
	if s == nil || ticket != nil || filepath.Dir(s.path) != filepath.Join(state, "udpchat") {
		t.Fatalf("openTickets = %+v, %v", s, ticket)
	}
	want := testTicket()
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	if _, ticket := openTickets("", "alice", ticketServer, log); ticket == nil || *ticket != want {
		t.Fatalf("reopened: %v, want %+v", ticket, want)
	}
}

// TestOpenTicketsUnsafeDir (issue 15, finding 15): a state directory that
// group or others may write could hold a ticket someone else planted, to
// resume a session of theirs: the client neither resumes from it nor
// writes its own there, and logs why.
func TestOpenTicketsUnsafeDir(t *testing.T) {
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	dir := filepath.Join(t.TempDir(), "state")
	if err := newTicketStore(dir, ticketServer, "alice").Save(testTicket()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if s, ticket := openTickets(dir, "alice", ticketServer, log); s != nil || ticket != nil {
		t.Fatalf("a world-writable state directory: openTickets = %+v, %v; want none", s, ticket)
	}
	if !strings.Contains(logs.String(), "writable by group or others") {
		t.Fatalf("the log does not say why:\n%s", logs.String())
	}
}
