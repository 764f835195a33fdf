package tui

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
)

// startRun runs Run on a pipe for input, and returns the pipe's writing end,
// the terminal Run draws on (from the program's own goroutine) and Run's
// result.
func startRun(t *testing.T, ctx context.Context, chat Chat, events <-chan client.Event) (*os.File, *testkit.Buffer, <-chan error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	out := &testkit.Buffer{}
	done := make(chan error, 1)
	opts := Options{Server: "127.0.0.1:9000", Nick: "bob", Theme: ThemeMono, Now: func() time.Time { return t0 }}
	go func() { done <- Run(ctx, chat, events, opts, r, out) }()
	return w, out, done
}

// running is Run as startRunning started it.
type running struct {
	cancel context.CancelFunc // cancels Run's context
	chat   *fakeChat
	events chan client.Event // unbuffered
	in     *os.File
	out    *testkit.Buffer
	done   <-chan error
}

// startRunning starts Run as startRun does, with a fresh fakeChat, an
// unbuffered events channel and a context the test may cancel; once the
// test and its cleanups are over, it checks that no goroutine is left.
func startRunning(t *testing.T) *running {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &running{cancel: cancel, chat: &fakeChat{}, events: make(chan client.Event)}
	r.in, r.out, r.done = startRun(t, ctx, r.chat, r.events)
	return r
}

func wait(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}

// waitSent waits until chat was sent n lines, pushing events through the
// program meanwhile: each is a round through its loop, so no time is
// guessed.
func waitSent(t *testing.T, chat *fakeChat, events chan<- client.Event, n int) {
	t.Helper()
	wait := testkit.Wait{Got: func() string { return fmt.Sprintf("sent %q", chat.Sent()) }}
	wait.Until(t, fmt.Sprintf("%d lines sent", n), func() bool {
		if len(chat.Sent()) >= n {
			return true
		}
		events <- client.RTTEvent{RTT: time.Millisecond}
		return false
	})
}

func TestRunQuits(t *testing.T) {
	tests := []struct {
		name  string
		input string // typed; empty: cancel the context
	}{
		{"ctrl+c", "\x03"},
		{"/quit", "/quit\r"},
		{"context done", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRunning(t)
			chat, events, in := r.chat, r.events, r.in

			// An unbuffered channel: the second send returns only once
			// Run has handed the first event to the program.
			events <- client.MessageEvent{Message: core.Message{Kind: core.KindChat, From: "alice", Text: "hello from alice", Time: t0}}
			events <- client.RTTEvent{RTT: time.Millisecond}
			if _, err := in.WriteString("hi alice\r"); err != nil {
				t.Fatal(err)
			}
			// Input still in flight when the program ends leaves Bubble
			// Tea's reader blocked for good (it sends without watching
			// for the end), so the line is seen through first.
			waitSent(t, chat, events, 1)
			if tt.input == "" {
				r.cancel()
			} else if _, err := in.WriteString(tt.input); err != nil {
				t.Fatal(err)
			}
			wait(t, r.done)

			screen := r.out.String()
			if !strings.Contains(screen, "hello from alice") {
				t.Errorf("the event was not shown:\n%q", screen)
			}
			// The terminal is given back: the alternate screen is left and
			// the cursor shown again.
			for _, seq := range []string{"\x1b[?1049l", "\x1b[?25h"} {
				if !strings.Contains(screen, seq) {
					t.Errorf("output lacks %q: the terminal is not restored", seq)
				}
			}
		})
	}
}

func TestRunSendsTypedLines(t *testing.T) {
	r := startRunning(t)
	if _, err := r.in.WriteString("café 中文 👍\r"); err != nil {
		t.Fatal(err)
	}
	waitSent(t, r.chat, r.events, 1)
	if got := r.chat.Sent(); len(got) != 1 || got[0] != "café 中文 👍" {
		t.Fatalf("sent %q", got)
	}
	r.in.WriteString("\x03")
	wait(t, r.done)
}
