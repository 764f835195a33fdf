package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/internal/testkit"
)

// TestPlainFailover: `udpchat A,B` in plain mode connects to A; when A
// dies it moves to B by itself, says so ("connected B (moved from A)"),
// and the line typed while A was dead, which A never acknowledged, is
// sent on B, under the same nickname. Each server's key is pinned, B's on
// first use as A's was.
func TestPlainFailover(t *testing.T) {
	rooms := chattest.StartCluster(t, 2, chattest.Options{})
	a, b := rooms[0], rooms[1]
	onA, onB := a.Join(), b.Join()
	pr, pw := newPipe()
	stderr := &testkit.Buffer{}
	knownServers := known(t)
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"--plain", "--nick", "alice", "--log-file", filepath.Join(t.TempDir(), "client.log"),
			"--known-servers", knownServers, "--state-dir", t.TempDir(), a.Addr.String() + "," + b.Addr.String()},
			[]string{"UDPCHAT_CLIENT_KEEPALIVE=200ms"}, pr, &testkit.Buffer{}, stderr)
	}()
	said := func(on *chattest.Client, text string) {
		t.Helper()
		on.WaitMessage(fmt.Sprintf("alice's %q", text), func(m core.Message) bool { return m.From == "alice" && m.Text == text })
	}
	testkit.Wait{Got: stderr.String}.Until(t, "connected to A", func() bool {
		return strings.Contains(stderr.String(), "udpchat: connected "+a.Addr.String()+" (protocol 2")
	})
	fmt.Fprintln(pw, "on A")
	said(onA, "on A")

	a.StopServer()
	fmt.Fprintln(pw, "typed while A was down")
	said(onB, "typed while A was down")
	// The line may reach B before the client has printed that it moved.
	want := fmt.Sprintf("udpchat: connected %s (moved from %s) (protocol 2", b.Addr, a.Addr)
	testkit.Wait{Got: stderr.String}.Until(t, "the move said", func() bool { return strings.Contains(stderr.String(), want) })
	pw.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, stderr.String())
		}
	case <-time.After(chattest.Timeout):
		t.Fatal("the client did not exit once its input ended")
	}
	for _, r := range []*chattest.Room{a, b} {
		key, found, err := identity.KnownServers{Path: knownServers}.Lookup(r.Addr.String())
		if err != nil || !found || !key.Equal(r.Identity.Public()) {
			t.Errorf("known_servers pins %v for %v (found %v, %v), want its own key", key, r.Addr, found, err)
		}
	}
}

// TestServerList: the servers come from the command line, several at
// once separated by commas, or else from client.servers, and a first
// address where nothing listens is passed over for the next; a bad entry
// is named.
func TestServerList(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	listener := room.Join()
	dead := chattest.DeadAddr(t).String()
	env := []string{"UDPCHAT_CLIENT_HANDSHAKE_RTO=50ms", "UDPCHAT_CLIENT_HANDSHAKE_RETRIES=1"}
	conf := filepath.Join(t.TempDir(), "udpchat.yaml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("client:\n  servers: [%q, %q]\n", dead, room.Addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, args := range [][]string{
		{dead + "," + room.Addr.String()},
		{"--config", conf},
		{"--config", conf, room.Addr.String()}, // the command line wins
	} {
		text := fmt.Sprintf("line %d", i)
		stderr := &testkit.Buffer{}
		args = append([]string{"--plain", "--log-file", filepath.Join(t.TempDir(), "client.log"), "--known-servers", known(t)}, args...)
		if code := run(context.Background(), args, env, strings.NewReader(text+"\n"), &testkit.Buffer{}, stderr); code != 0 {
			t.Fatalf("udpchat %q: exit %d:\n%s", args, code, stderr.String())
		}
		listener.WaitMessage(text, func(m core.Message) bool { return m.Text == text })
		if moved := strings.Contains(stderr.String(), "reconnecting"); moved != (i < 2) {
			t.Errorf("udpchat %q: moved from the dead address %v, want %v:\n%s", args, moved, i < 2, stderr.String())
		}
	}

	stderr := &testkit.Buffer{}
	code := run(context.Background(), []string{"--plain", room.Addr.String() + ",nowhere"}, nil, strings.NewReader(""), &testkit.Buffer{}, stderr)
	if code != 2 || !strings.Contains(stderr.String(), `server address "nowhere"`) || strings.Count(stderr.String(), "\n") > 2 {
		t.Errorf("a bad entry: exit %d, %q; want 2, naming it", code, stderr.String())
	}
}
