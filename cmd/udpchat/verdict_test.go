package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/plugins"
	"github.com/udpchat/udpchat/server"
)

// TestPlainVerdicts: plain mode waits for the server's verdict on every
// line and exits 0 only if all were delivered; a line the real filter
// plugin refuses, or a /msg to nobody, exits 1 with the line and the reason
// on stderr. (A server that does not answer: TestPlainNoServer.)
func TestPlainVerdicts(t *testing.T) {
	bin := testkit.Build(t, "../../plugins/examples/filter")
	late := new(plugins.LateRoom)
	set, err := plugins.StartAll(context.Background(), []plugins.Config{{
		Name: "filter", Path: bin, Config: map[string]string{"words": "secret", "mode": "drop"},
	}}, late, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		cfg.Handlers = append(cfg.Handlers, set.Middlewares()...)
	}})
	late.Set(room.Server)
	listener := room.Join()

	tests := []struct {
		name    string
		input   string
		code    int
		refused string // the line on stderr, if one was refused
		relayed []string
	}{
		{"all delivered", "hello\nworld\n", 0, "", []string{"hello", "world"}},
		{"refused by the filter", "before\nthe secret plan\nafter\n", 1,
			"udpchat: refused: the secret plan: message contains a filtered word\n", []string{"before", "after"}},
		{"/msg to nobody", "/msg nobody hi\n", 1, "udpchat: refused: /msg nobody hi: no such user: nobody\n", nil},
	}
	seen := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), []string{"--plain", "--log-file", "-", "--known-servers", known(t), room.Addr.String()},
				nil, strings.NewReader(tt.input), &bytes.Buffer{}, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if got := strings.Count(stderr.String(), "refused:"); tt.refused != "" && (got != 1 || !strings.Contains(stderr.String(), tt.refused)) {
				t.Fatalf("stderr:\n%s\nwant once: %q", stderr.String(), tt.refused)
			} else if tt.refused == "" && got != 0 {
				t.Fatalf("stderr:\n%s\nwant no refusal", stderr.String())
			}
			seen += len(tt.relayed)
			got := listener.WaitChat(seen)[seen-len(tt.relayed):]
			for i, m := range got {
				if m.Text != tt.relayed[i] {
					t.Fatalf("the room got %q, want %q", texts(got), tt.relayed)
				}
			}
		})
	}
}

// TestPlainServerGone: a server that stops answering after the client
// connected: the line sent then is not delivered, and plain mode says which
// and exits 1 once the server has been silent for three keepalives (a
// version 2 client does not give up on a message while the server answers).
func TestPlainServerGone(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	listener := room.Join()
	pr, pw := newPipe()
	var stderr testkit.Buffer
	done := make(chan int)
	go func() {
		done <- run(context.Background(), []string{"--plain", "--log-file", "-", "--known-servers", known(t), room.Addr.String()},
			[]string{"UDPCHAT_RELIABILITY_RTO=20ms", "UDPCHAT_CLIENT_KEEPALIVE=200ms",
				"UDPCHAT_CLIENT_HANDSHAKE_RTO=20ms", "UDPCHAT_CLIENT_HANDSHAKE_RETRIES=2"},
			pr, &bytes.Buffer{}, &stderr)
	}()
	if _, err := pw.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	listener.WaitChat(1)
	room.StopServer()
	if _, err := pw.Write([]byte("into the void\n")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if code := <-done; code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	// Usually the second line is the one not delivered; when the server
	// stopped before its ACK of the first went out, both are.
	if !strings.Contains(stderr.String(), "udpchat: not delivered: into the void: server silent for ") {
		t.Fatalf("stderr does not say why:\n%s", stderr.String())
	}
}

func texts(ms []core.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}
