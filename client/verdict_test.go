package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/transport/udp"
)

// TestHandshakeNothingListens: a KEY_REQ to a port where nothing listens
// draws an ICMP port unreachable, and the handshake fails at once, saying
// so: Run returns before the first retry was due (10 s), after one
// KEY_REQ.
func TestHandshakeNothingListens(t *testing.T) {
	dead := chattest.DeadAddr(t)
	r := startClient(t, dead, func(cfg *client.Config) { cfg.HandshakeRTO, cfg.HandshakeRetries = 10*time.Second, 5 })
	if a := next(r, "the first KEY_REQ", isAttempt); a != (client.AttemptEvent{Server: dead, Attempt: 1, Of: 6, Wait: 10 * time.Second}) {
		t.Fatalf("first attempt %+v", a)
	}
	err := r.end(10*time.Second, "the ICMP error to end the handshake before its first retry")
	if !errors.Is(err, client.ErrNothingListens) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Run returned %v, want ErrNothingListens from ECONNREFUSED", err)
	}
	want := fmt.Sprintf("nothing listens at %s (UDP): KEY_REQ 1 of 6 drew an ICMP port unreachable", dead)
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Run returned %q, want it to start %q", err, want)
	}
	if f := next(r, "the end reported", isState(client.StateFailed)); f.Err != err {
		t.Fatalf("StateFailed carries %v, want Run's error", f.Err)
	}
	r.none("a second KEY_REQ", func(e client.Event) bool { _, ok := isAttempt(e); return ok })
}

// TestHandshakeNoAnswer: a server that never answers (a socket bound and
// never read: no ICMP error) is given up on once the retries run out,
// with a verdict that says what was tried, and over how long, and the
// likely causes; each KEY_REQ is reported as it goes.
func TestHandshakeNoAnswer(t *testing.T) {
	silent, err := udp.Network{}.Listen(chattest.Loopback)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	addr := silent.LocalAddr()
	r := startClient(t, addr, func(cfg *client.Config) { cfg.HandshakeRTO, cfg.HandshakeRetries = 20*time.Millisecond, 2 })
	for i, wait := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond} {
		want := client.AttemptEvent{Server: addr, Attempt: i + 1, Of: 3, Wait: wait}
		if a := next(r, fmt.Sprintf("attempt %d", i+1), isAttempt); a != want {
			t.Fatalf("attempt %+v, want %+v", a, want)
		}
	}
	err = r.end(testkit.Timeout, "the client to give up")
	want := fmt.Sprintf("no answer from server %s after 3 KEY_REQs over 140ms (protocol 2 or 1, codec %s, suite %s): "+
		"likely the server is down or a firewall drops UDP, or it speaks another codec than %[2]s, or lacks suite %[3]s",
		addr, jsoncodec.Name, seed.Name)
	if !errors.Is(err, client.ErrNoAnswer) || err.Error() != want {
		t.Fatalf("Run returned\n%v\nwant\n%s", err, want)
	}
}

// TestReconnectAfterNothingListens: a client set to reconnect goes on
// after a handshake that drew an ICMP error, saying so, and tries again
// after a wait that grows: it never quits.
func TestReconnectAfterNothingListens(t *testing.T) {
	dead := chattest.DeadAddr(t)
	rto := 50 * time.Millisecond
	r := startClient(t, dead, func(cfg *client.Config) { cfg.HandshakeRTO, cfg.HandshakeRetries, cfg.Reconnect = rto, 2, true })
	for _, retry := range []time.Duration{2 * rto, 4 * rto} {
		if a := next(r, "a first KEY_REQ", isAttempt); a.Attempt != 1 || a.Server != dead {
			t.Fatalf("attempt %+v, want the first to %v", a, dead)
		}
		f := next(r, "the verdict", isHandshakeFailed)
		if !errors.Is(f.Err, client.ErrNothingListens) || f.Server != dead || f.Next != dead || f.Retry != retry {
			t.Fatalf("verdict %+v, want nothing listens at %v, again after %v", f, dead, retry)
		}
	}
	select {
	case <-r.done:
		t.Fatalf("the client quit: %v", r.err)
	default:
	}
}

// TestFailoverPastNothingListens: a client whose first server has nothing
// listening moves to the next at once, not once its retries (10 s the
// first) run out.
func TestFailoverPastNothingListens(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	dead := chattest.DeadAddr(t)
	r := startClient(t, dead, func(cfg *client.Config) {
		cfg.Fallbacks = []netip.AddrPort{room.Addr}
		cfg.HandshakeRTO, cfg.HandshakeRetries = 10*time.Second, 5
	})
	start := time.Now()
	f := next(r, "the verdict on the first server", isHandshakeFailed)
	if !errors.Is(f.Err, client.ErrNothingListens) || f.Server != dead || f.Next != room.Addr || f.Retry != 0 {
		t.Fatalf("verdict %+v, want nothing listens at %v, %v next at once", f, dead, room.Addr)
	}
	if c := next(r, "the connection", isState(client.StateConnected)); c.Server != room.Addr {
		t.Fatalf("connected to %v, want %v", c.Server, room.Addr)
	}
	if took := time.Since(start); took >= 10*time.Second {
		t.Fatalf("connected after %v: the first server's retries ran out", took)
	}
}

// TestICMPErrorsNeverEndASession: ICMP errors during a session are only
// logged: anyone could forge them. A connected client whose server is
// gone draws one for each keepalive, and stays connected.
func TestICMPErrorsNeverEndASession(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	var log testkit.Buffer
	r := startClient(t, room.Addr, func(cfg *client.Config) {
		cfg.Keepalive = 50 * time.Millisecond
		cfg.ReliabilityConfig.RTO = 50 * time.Millisecond // the BYE at the end, unanswered
		cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	next(r, "the connection", isState(client.StateConnected))
	room.StopServer()
	testkit.Wait{Got: log.String}.Until(t, "an ICMP error logged", func() bool {
		return strings.Count(log.String(), "ICMP error outside a handshake") >= 2
	})
	r.none("a change of state", func(e client.Event) bool { _, ok := e.(client.StateEvent); return ok })
	select {
	case <-r.done:
		t.Fatalf("the client ended: %v", r.err)
	default:
	}
}

// run is a client the test runs, and what it reports.
type run struct {
	t      *testing.T
	events chan client.Event
	done   chan struct{} // closed once Run returned and its last events are in events
	err    error         // what Run returned, once done
}

// startClient runs a client of server on real UDP, speaking the seed's
// codec and suite; edit has the last word on its configuration.
func startClient(t *testing.T, server netip.AddrPort, edit func(*client.Config)) *run {
	t.Helper()
	tr, err := udp.Network{}.Listen(chattest.Loopback)
	if err != nil {
		t.Fatal(err)
	}
	cfg := client.Config{
		Transport: tr, Server: server, Codec: jsoncodec.Codec{}, Suite: seed.Suite{}, Reliability: stopwait.Layer{},
		NewInitiator: chattest.Keys.Initiators(0),
		Env:          core.Env{Logger: slog.New(slog.DiscardHandler)},
	}
	edit(&cfg)
	c, err := client.New(cfg)
	if err != nil {
		tr.Close()
		t.Fatal(err)
	}
	r := &run{t: t, events: make(chan client.Event, 1024), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	go func() {
		defer close(r.done)
		for {
			select {
			case e := <-c.Events():
				r.events <- e
			case err := <-runErr:
				for {
					select {
					case e := <-c.Events():
						r.events <- e
					default:
						r.err = err
						return
					}
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// next waits for the next event that match accepts, passing over others.
func next[E client.Event](r *run, what string, match func(client.Event) (E, bool)) E {
	r.t.Helper()
	deadline := time.NewTimer(testkit.Timeout)
	defer deadline.Stop()
	var passed []string
	for {
		select {
		case e := <-r.events:
			if m, ok := match(e); ok {
				return m
			}
			passed = append(passed, fmt.Sprintf("%T%+v", e, e))
		case <-deadline.C:
			r.t.Fatalf("timed out waiting for %s; got %q", what, passed)
		}
	}
}

// none fails the test if an event reported so far matches.
func (r *run) none(what string, match func(client.Event) bool) {
	r.t.Helper()
	for {
		select {
		case e := <-r.events:
			if match(e) {
				r.t.Fatalf("%s: %T%+v", what, e, e)
			}
		default:
			return
		}
	}
}

// end waits, at most within, for Run to return, and returns its error.
func (r *run) end(within time.Duration, what string) error {
	r.t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(within):
		r.t.Fatalf("still running after %v: waiting for %s", within, what)
		return nil
	}
}

func isAttempt(e client.Event) (client.AttemptEvent, bool) {
	a, ok := e.(client.AttemptEvent)
	return a, ok
}

func isHandshakeFailed(e client.Event) (client.HandshakeFailedEvent, bool) {
	f, ok := e.(client.HandshakeFailedEvent)
	return f, ok
}

func isState(s client.ConnState) func(client.Event) (client.StateEvent, bool) {
	return func(e client.Event) (client.StateEvent, bool) {
		st, ok := e.(client.StateEvent)
		return st, ok && st.State == s
	}
}
