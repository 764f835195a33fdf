package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
)

// TestPlainPipe: `printf 'hi\n' | udpchat --plain HOST:PORT` is a complete
// program: it sends the lines, waits for their ACKs and exits 0; the other
// clients see the lines as "<sender> text"; what arrives meanwhile is printed.
func TestPlainPipe(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	listener := room.Join()
	logFile := filepath.Join(t.TempDir(), "client.log")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--plain", "--log-file", logFile, "--known-servers", known(t), room.Addr.String()},
		nil, strings.NewReader("hi\nthere 🌍\n"), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	msgs := listener.WaitChat(2)
	if msgs[0].Text != "hi" || msgs[1].Text != "there 🌍" {
		t.Fatalf("listener got %+v", msgs)
	}
}

// TestPlainReceives: messages from others are printed on standard output,
// one line each, and the seed's HOST PORT form of the address works.
func TestPlainReceives(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	talker := room.Join()
	pr, pw := newPipe()
	out := &testkit.Buffer{}
	done := make(chan int)
	go func() {
		done <- run(context.Background(), []string{"--log-file", "-", "--known-servers", known(t), room.Addr.Addr().String(), itoa(room.Addr.Port())},
			nil, pr, out, &testkit.Buffer{})
	}()
	// Once the client has joined, what the talker says reaches it.
	testkit.WaitUntil(t, "the client's session", func() bool { return room.Server.Stats().Sessions == 2 })
	talker.WaitDelivered(talker.Say("hello plain"))
	want := "<" + talker.Name() + "> hello plain\n"
	testkit.Wait{Got: out.String}.Until(t, fmt.Sprintf("the client to print %q", want), func() bool { return strings.Contains(out.String(), want) })
	pw.Close()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestPlainNoServer: with nobody answering (a socket bound and never
// read, so no ICMP error either), the client gives up on the handshake
// and exits 1, saying in one line what it tried and what the silence
// likely means.
func TestPlainNoServer(t *testing.T) {
	addr := silentAddr(t)
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"--log-file", filepath.Join(t.TempDir(), "client.log"), "--known-servers", known(t), addr.String()},
		[]string{"UDPCHAT_CLIENT_HANDSHAKE_RTO=20ms", "UDPCHAT_CLIENT_HANDSHAKE_RETRIES=2"},
		strings.NewReader("anyone?\n"), &bytes.Buffer{}, &stderr)
	want := fmt.Sprintf("udpchat: no answer from server %s after 3 KEY_REQs over 140ms (protocol 2 or 1, codec json, suite rsa-aes-cbc-hmac): "+
		"likely the server is down or a firewall drops UDP, or it speaks another codec than json, or lacks suite rsa-aes-cbc-hmac\n", addr)
	if code != 1 || stderr.String() != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant 1 and\n%s", code, stderr.String(), want)
	}
}

// TestPlainNothingListens: with nothing listening at the server's port,
// plain mode exits 1 at once, with one line that says so: the ICMP port
// unreachable its first KEY_REQ drew ends the handshake, long before the
// first retry (10 s) was due, and the line typed meanwhile is not
// reported on its own.
func TestPlainNothingListens(t *testing.T) {
	dead := chattest.DeadAddr(t)
	var stderr testkit.Buffer
	done := make(chan int, 1)
	start := time.Now()
	go func() {
		done <- run(context.Background(), []string{"--plain", "--log-file", filepath.Join(t.TempDir(), "client.log"), "--known-servers", known(t), dead.String()},
			[]string{"UDPCHAT_CLIENT_HANDSHAKE_RTO=10s", "UDPCHAT_CLIENT_HANDSHAKE_RETRIES=5"},
			strings.NewReader("anyone?\n"), &bytes.Buffer{}, &stderr)
	}()
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("still running when the first retry was due; stderr:\n%s", stderr.String())
	}
	t.Logf("exited %d after %v", code, time.Since(start))
	want := fmt.Sprintf("udpchat: nothing listens at %s (UDP): KEY_REQ 1 of 6 drew an ICMP port unreachable", dead)
	if got := stderr.String(); code != 1 || strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, want) {
		t.Fatalf("exit %d, stderr:\n%s\nwant 1 and one line starting %q", code, got, want)
	}
}

// TestClientUsage: --help exits 0; a missing or bad server address exits 2.
func TestClientUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "usage: udpchat [--config FILE] [--plain] [--nick NAME]"},
		{nil, 2, "want the server as HOST:PORT or HOST PORT"},
		{[]string{"127.0.0.1"}, 2, "server address"},
		{[]string{"a", "b", "c"}, 2, "HOST:PORT"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if code := run(context.Background(), tt.args, nil, strings.NewReader(""), &bytes.Buffer{}, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("udpchat %v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}

// TestPlainOnABadNetwork: the fault options of the configuration put the
// client on a bad network on purpose, and reliable delivery sees it through.
func TestPlainOnABadNetwork(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	listener := room.Join()
	logFile := filepath.Join(t.TempDir(), "client.log")
	env := []string{
		"UDPCHAT_FAULT_SEED=3", "UDPCHAT_FAULT_SEND_LOSS=0.3", "UDPCHAT_FAULT_RECEIVE_LOSS=0.3",
		"UDPCHAT_RELIABILITY_RTO=50ms", "UDPCHAT_RELIABILITY_MAX_RETRIES=20", "UDPCHAT_CLIENT_HANDSHAKE_RTO=50ms",
		"UDPCHAT_CLIENT_HANDSHAKE_RETRIES=20",
	}
	var stderr bytes.Buffer
	input := strings.Repeat("through the storm\n", 10)
	if code := run(context.Background(), []string{"--log-file", logFile, "--known-servers", known(t), room.Addr.String()},
		env, strings.NewReader(input), &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got := listener.WaitChat(10); len(got) != 10 {
		t.Fatalf("listener got %d messages", len(got))
	}
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "injecting network faults") || !strings.Contains(string(log), "retransmitting") {
		t.Fatalf("the log shows no faults or no retransmissions:\n%s", log)
	}
}

// TestPlainLog: by default the client logs to client.log in its state
// directory, never its working directory; a log it cannot open does not
// stop it: it says so in one line and logs to standard error, and the
// lines still go.
func TestPlainLog(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	listener := room.Join()
	state := filepath.Join(t.TempDir(), "state")
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--plain", "--state-dir", state, "--known-servers", known(t), room.Addr.String()},
		nil, strings.NewReader("logged\n"), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if fi, err := os.Stat(filepath.Join(state, "client.log")); err != nil || fi.Size() == 0 {
		t.Errorf("no log in the state directory: %v", err)
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("the client wrote %d entries into its working directory", len(entries))
	}

	stderr.Reset()
	unwritable := filepath.Join(t.TempDir(), "no", "such", "dir", "client.log")
	code = run(context.Background(), []string{"--plain", "--log-file", unwritable, "--known-servers", known(t), room.Addr.String()},
		nil, strings.NewReader("still sent\n"), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("with a log it cannot open: exit %d; stderr:\n%s", code, stderr.String())
	}
	first, _, _ := strings.Cut(stderr.String(), "\n")
	if !strings.HasPrefix(first, "udpchat: warning: client.log_file: ") || !strings.Contains(first, unwritable) || !strings.HasSuffix(first, "; logging to standard error") {
		t.Errorf("first line on stderr %q, want the warning naming %s", first, unwritable)
	}
	listener.WaitMessage("the line sent without a log", func(m core.Message) bool { return m.Text == "still sent" })
}
