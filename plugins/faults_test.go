package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/plugins/internal/testplugins"
)

// faultTimeout is the plugins' timeout in the fault tests: short, since
// every bad call holds the server that long, and long enough for a good
// call on a loaded machine running -race.
const faultTimeout = time.Second

// TestMisbehaving runs plugins that crash, exit, hang and answer garbage,
// under both policies, in a real room: the server goes on relaying, the
// policy decides the bad call's message, and the plugin answers again
// afterwards, restarted if it died.
func TestMisbehaving(t *testing.T) {
	cases := []struct {
		plugin, trigger string
		dies            bool
	}{
		{"panic", "panic", true},
		{"exit", "exit", true},
		{"sleep", "sleep", false},
		{"garbage", "garbage", false},
		{"garbage", "garbage-text", false},
	}
	for _, tc := range cases {
		for _, failClosed := range []bool{false, true} {
			policy := "fail-open"
			if failClosed {
				policy = "fail-closed"
			}
			t.Run(tc.trigger+"/"+policy, func(t *testing.T) {
				t.Parallel()
				log, logs := newTestLog(t)
				cfg := Config{Name: tc.plugin, Path: bin(t, tc.plugin), FailClosed: failClosed, Timeout: faultTimeout}
				r, set := startRoom(t, log, cfg)
				p := set.Plugins()[0]
				a, b, c := r.Join(), r.Join(), r.Join()

				a.Say(tc.trigger)
				// Another client's message, sent while the bad call lasts,
				// is handled no later than the timeout allows: relayed, or
				// refused if the plugin is down and fails closed.
				start := time.Now()
				b.Say("hello from b")
				if tc.dies && failClosed {
					testkit.WaitUntil(t, "b's message relayed or refused", func() bool {
						return indexOf(c.Messages(), from(b.Name(), "hello from b")) >= 0 ||
							indexOf(b.Messages(), refused(tc.plugin+" is unavailable")) >= 0
					})
				} else {
					c.WaitMessage("b's message", from(b.Name(), "hello from b"))
				}
				if d := time.Since(start); d > faultTimeout+10*time.Second {
					t.Errorf("b's message took %v, with a plugin timeout of %v", d, faultTimeout)
				}
				if failClosed {
					a.WaitMessage("the refusal", refused(tc.plugin+" is unavailable"))
				} else {
					c.WaitMessage("the trigger, passed", from(a.Name(), tc.trigger))
				}

				if tc.dies {
					logs.wait(1, `msg="plugin restarted"`, "plugin="+tc.plugin)
					if s := p.State(); s != StateRunning {
						t.Errorf("State after the restart: %s", s)
					}
				}
				// A later call succeeds: only the plugin turns ping into pong.
				a.Say(testplugins.Ping)
				c.WaitMessage("the plugin's pong", from(a.Name(), testplugins.Pong))
				if failClosed {
					never(t, c, tc.trigger)
				}
			})
		}
	}
}

// TestHungPluginRestarts sends a plugin that hangs on every call more than
// it can take: after maxTimeouts calls in a row it is killed and started
// afresh.
func TestHungPluginRestarts(t *testing.T) {
	p, logs := startSleep(t, 200*time.Millisecond)
	h := core.Chain(core.HandlerFunc(func(context.Context, *core.Message) error { return nil }), p.Middleware())
	for i := range maxTimeouts {
		start := time.Now()
		if err := h.HandleMessage(context.Background(), &core.Message{Kind: core.KindChat, From: "u1", Text: "sleep"}); err != nil {
			t.Fatalf("call %d: fail-open returned %v", i, err)
		}
		if d := time.Since(start); d > 200*time.Millisecond+5*time.Second {
			t.Errorf("call %d held the chain %v, with a timeout of 200ms", i, d)
		}
	}
	logs.wait(1, `msg="plugin does not answer; killing it, to restart it"`)
	logs.wait(1, `msg="plugin restarted"`)
	m := &core.Message{Kind: core.KindChat, From: "u1", Text: testplugins.Ping}
	if err := h.HandleMessage(context.Background(), m); err != nil || m.Text != testplugins.Pong {
		t.Errorf("after the restart: %v, text %q", err, m.Text)
	}
}

// TestRestartBackoff kills a plugin again and again: it comes back each
// time, the waits grow, and calls made while it is down fail at once.
func TestRestartBackoff(t *testing.T) {
	log, logs := newTestLog(t)
	p, err := Start(context.Background(), Config{Name: "exit", Path: bin(t, "exit"), FailClosed: true}, new(LateRoom), log)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	h := core.Chain(core.HandlerFunc(func(context.Context, *core.Message) error { return nil }), p.Middleware())
	for i := 1; i <= 3; i++ {
		err := h.HandleMessage(context.Background(), &core.Message{Kind: core.KindChat, From: "u1", Text: "exit"})
		if reason, _ := core.RejectionReason(err); reason != "exit is unavailable" {
			t.Fatalf("exit %d: %v", i, err)
		}
		// Until the supervisor sees the exit, the call may fail on the
		// dead connection; after it, at once, without reaching a process.
		testkit.WaitUntil(t, "the exit noticed", func() bool { return p.State() != StateRunning || logs.count(`msg="plugin restarted"`) >= i })
		start := time.Now()
		err = h.HandleMessage(context.Background(), &core.Message{Kind: core.KindChat, From: "u1", Text: testplugins.Ping})
		if p.State() != StateRunning {
			// Down all through the call: it must have failed at once.
			if reason, _ := core.RejectionReason(err); reason != "exit is unavailable" || time.Since(start) > time.Second {
				t.Errorf("a call to a restarting plugin: %v, after %v", err, time.Since(start))
			}
		}
		logs.wait(i, `msg="plugin restarted"`)
	}
	want := []string{"backoff=100ms", "backoff=200ms", "backoff=400ms"}
	for _, w := range want {
		if logs.count(`msg="plugin exited; restarting it"`, w) != 1 {
			t.Errorf("no restart logged with %s", w)
		}
	}
}

// TestRestartChecksum replaces a plugin's executable while it runs: its
// restart fails the checksum, it is "failed", and Close still ends it.
func TestRestartChecksum(t *testing.T) {
	log, logs := newTestLog(t)
	path := copyFile(t, bin(t, "exit"), t.TempDir())
	p, err := Start(context.Background(), Config{Name: "exit", Path: path, SHA256: sum(t, path)}, new(LateRoom), log)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	writeFile(t, path, readFile(t, bin(t, "bot")))
	h := core.Chain(core.HandlerFunc(func(context.Context, *core.Message) error { return nil }), p.Middleware())
	_ = h.HandleMessage(context.Background(), &core.Message{Kind: core.KindChat, From: "u1", Text: "exit"})
	logs.wait(1, `msg="plugin restart failed"`, "sha256 "+sum(t, path))
	testkit.WaitUntil(t, "state failed", func() bool { return p.State() == StateFailed })
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close during the backoff took %v", d)
	}
	if s := p.State(); s != StateStopped {
		t.Errorf("State after Close: %s", s)
	}
}

// TestHost reaches the Host service from a plugin: the users, its bot
// among them, and the log.
func TestHost(t *testing.T) {
	log, logs := newTestLog(t)
	r, _ := startRoom(t, log, Config{Name: "garbage", Path: bin(t, "garbage"), Config: map[string]string{"bots": "robo"}})
	a, b := r.Join(), r.Join()
	a.Say(testplugins.Who)
	b.WaitMessage("the users", from("garbage", strings.Join([]string{"robo (bot)", a.Name(), b.Name()}, ",")))
	a.Say(testplugins.Log)
	logs.wait(1, "level=WARN", fmt.Sprintf("msg=%q", testplugins.LogMsg), "plugin=garbage", "asked=yes")
}

// TestCallerDeadline: a call the server gives up on (its handler deadline
// for the message passed, server.Config.HandlerDeadline) ends at once with
// the server's reason, is no strike against the plugin, and is not the
// plugin's failure for its policy to decide: fail-open does not pass the
// message on. The plugin is not killed for it, however many in a row.
func TestCallerDeadline(t *testing.T) {
	p, logs := startSleep(t, 10*time.Second)
	passed := 0
	h := core.Chain(core.HandlerFunc(func(context.Context, *core.Message) error { passed++; return nil }), p.Middleware())
	late := errors.New("the server's deadline")
	for i := range maxTimeouts + 1 {
		ctx, cancel := context.WithTimeoutCause(context.Background(), 100*time.Millisecond, late)
		start := time.Now()
		err := h.HandleMessage(ctx, &core.Message{Kind: core.KindChat, From: "u1", Text: "sleep"})
		cancel()
		if !errors.Is(err, late) {
			t.Fatalf("call %d: %v, not the server's deadline", i, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("call %d held the chain %v past a deadline of 100ms", i, d)
		}
	}
	if passed > 0 {
		t.Errorf("fail-open passed on %d messages the server gave up on", passed)
	}
	m := &core.Message{Kind: core.KindChat, From: "u1", Text: testplugins.Ping}
	if err := h.HandleMessage(context.Background(), m); err != nil || m.Text != testplugins.Pong {
		t.Errorf("after the calls: %v, text %q", err, m.Text)
	}
	if n := logs.count(`msg="plugin does not answer; killing it, to restart it"`); n > 0 {
		t.Errorf("the plugin was killed for the server's deadline")
	}
}

// startSleep starts the plugin that hangs on "sleep", with timeout, to
// stop when the test ends.
func startSleep(t *testing.T, timeout time.Duration) (*Plugin, *testLog) {
	t.Helper()
	log, logs := newTestLog(t)
	p, err := Start(context.Background(), Config{Name: "sleep", Path: bin(t, "sleep"), Timeout: timeout}, new(LateRoom), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, logs
}
