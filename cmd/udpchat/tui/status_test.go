package tui

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/identity"
)

var serverKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)

func connected(nick string) client.StateEvent {
	return client.StateEvent{State: client.StateConnected, Info: &client.SessionInfo{
		Version: 2, Session: 7, Nick: nick, Suite: "x25519-chacha20", ServerKey: serverKey}}
}

func TestStatusLine(t *testing.T) {
	h := newHarness(t)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 10})
	if got := h.status(); !strings.Contains(got, "connecting | 127.0.0.1:9000 | bob") {
		t.Fatalf("before any event: %q", got)
	}

	h.event(connected("bob2"), client.RTTEvent{RTT: 12345 * time.Microsecond})
	want := "connected | 127.0.0.1:9000 | bob2 | protocol 2 x25519-chacha20 | key " +
		identity.ShortFingerprint(serverKey) + " | rtt 12ms"
	if got := h.status(); !strings.Contains(got, markDelivered+" "+want) {
		t.Fatalf("status = %q, want %q", got, want)
	}
	h.contains("-*- connected to 127.0.0.1:9000 as bob2 (protocol 2, x25519-chacha20, server key " + identity.Fingerprint(serverKey) + ")")
	if h.inputLine() != "bob2> type a message; /help lists commands" {
		t.Errorf("the prompt does not follow the nickname the server gave: %q", h.inputLine())
	}

	h.event(client.RTTEvent{RTT: 420 * time.Microsecond})
	if got := h.status(); !strings.Contains(got, "rtt 420µs") {
		t.Errorf("status = %q", got)
	}

	h.event(client.StateEvent{State: client.StateHandshaking})
	if got := h.status(); !strings.Contains(got, "reconnecting | ") {
		t.Errorf("a new handshake after connecting: %q", got)
	}
	h.contains("-*- messages are not getting through: starting a new session")

	h.event(connected("bob2"))
	h.contains("-*- reconnected to 127.0.0.1:9000")

	// A state this version does not know is shown by its name.
	h.event(client.StateEvent{State: client.ConnState(42)})
	if got := h.status(); !strings.Contains(got, "ConnState(42) | ") {
		t.Errorf("unknown state: %q", got)
	}

	h.event(client.StateEvent{State: client.StateFailed, Err: client.ErrNoAnswer})
	if got := h.status(); !strings.Contains(got, markFailed+" failed: no answer from server | ") {
		t.Errorf("failed: %q", got)
	}
	h.contains("-*- connection failed: no answer from server (/quit to leave)")
}

func TestStatusLineVersion1(t *testing.T) {
	h := newHarness(t)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 10})
	h.event(client.StateEvent{State: client.StateHandshaking})
	if got := h.status(); !strings.Contains(got, "handshaking | ") {
		t.Errorf("first handshake: %q", got)
	}
	h.event(client.StateEvent{State: client.StateConnected, Info: &client.SessionInfo{Version: 1, Suite: "seed"}})
	if got := h.status(); !strings.Contains(got, "connected | 127.0.0.1:9000 | bob | protocol 1 (unauthenticated)") || strings.Contains(got, "key") {
		t.Errorf("status = %q", got)
	}
}

func TestStatusLineDropsWhatMattersLeast(t *testing.T) {
	h := newHarness(t)
	h.event(connected("bob"), client.RTTEvent{RTT: 3 * time.Millisecond})
	h.send(tea.WindowSizeMsg{Width: 50, Height: 10})
	got := h.status()
	for _, w := range []string{"connected", "bob", "rtt 3ms", "key " + identity.ShortFingerprint(serverKey)} {
		if !strings.Contains(got, w) {
			t.Errorf("status %q lacks %q", got, w)
		}
	}
	if strings.Contains(got, "protocol") {
		t.Errorf("status %q kept the protocol over what matters more", got)
	}
	if displayWidth(got) != 50 {
		t.Errorf("status is %d cells wide", displayWidth(got))
	}
}

func TestSpinnerRunsOnlyWhileBusy(t *testing.T) {
	h := newHarness(t)
	if !h.m.spinning {
		t.Fatal("no spinner while connecting")
	}
	frame := h.m.spin.View()
	if cmd := h.update(spinner.TickMsg{ID: h.m.spin.ID()}); cmd == nil {
		t.Fatal("the spinner stopped while connecting")
	}
	if h.m.spin.View() == frame {
		t.Error("the spinner did not turn")
	}
	h.event(connected("bob"))
	if cmd := h.update(spinner.TickMsg{ID: h.m.spin.ID()}); cmd != nil || h.m.spinning {
		t.Fatal("the spinner goes on once connected")
	}
	if strings.Contains(h.status(), frame) {
		t.Errorf("spinner shown when connected: %q", h.status())
	}
	// A reconnection starts it again, once.
	cmd := h.update(EventMsg{client.StateEvent{State: client.StateHandshaking}})
	if cmd == nil || !h.m.spinning {
		t.Fatal("no spinner while reconnecting")
	}
	if cmd := h.update(EventMsg{client.StateEvent{State: client.ConnState(9)}}); cmd != nil {
		t.Fatal("a second chain of ticks")
	}
}

func TestFailedEventWithoutReason(t *testing.T) {
	h := newHarness(t)
	h.enter("x")
	h.event(client.FailedEvent{ID: 1})
	h.contains("not delivered: given up")
	h.event(client.StateEvent{State: client.StateFailed, Err: errors.New("boom")})
	h.contains("connection failed: boom")
}

// TestStatusLineMoved: a client that moves to another server of the room
// says where it is going, and that it moved, and the status line names the
// server it is on.
func TestStatusLineMoved(t *testing.T) {
	a, b := netip.MustParseAddrPort("127.0.0.1:9000"), netip.MustParseAddrPort("127.0.0.1:9001")
	h := newHarness(t)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 10})
	first := connected("bob")
	first.Server = a
	h.event(first)
	h.contains("-*- connected to 127.0.0.1:9000 as bob")

	h.event(client.StateEvent{State: client.StateReconnecting, Server: b})
	h.contains("-*- connection: reconnecting to 127.0.0.1:9001")
	moved := connected("bob")
	moved.Server = b
	h.event(moved)
	h.contains("-*- connected to 127.0.0.1:9001 (moved from 127.0.0.1:9000) as bob")
	if got := h.status(); !strings.Contains(got, "connected | 127.0.0.1:9001 | bob") {
		t.Fatalf("status after the move: %q", got)
	}

	h.event(client.StateEvent{State: client.StateReconnecting, Server: b}, moved)
	h.contains("-*- reconnected to 127.0.0.1:9001 as bob")
}

// TestStatusLineAttempts: on the way to a server, the status line counts
// the KEY_REQs as they go, naming the server; once the client gives up on
// a handshake, it shows the verdict and when the next begins, and the
// view the whole verdict, once while it stays the same. A reconnection
// counts its KEY_REQs the same way.
func TestStatusLineAttempts(t *testing.T) {
	server := netip.MustParseAddrPort("127.0.0.1:9000")
	h := newHarness(t)
	h.send(tea.WindowSizeMsg{Width: 120, Height: 12})

	h.event(client.AttemptEvent{Server: server, Attempt: 1, Of: 6, Wait: time.Second})
	if got := h.status(); !strings.Contains(got, " connecting to 127.0.0.1:9000 (attempt 1 of 6) | bob ") {
		t.Fatalf("first KEY_REQ: %q", got)
	}
	h.event(client.AttemptEvent{Server: server, Attempt: 2, Of: 6, Wait: 2 * time.Second})
	if got := h.status(); !strings.Contains(got, " connecting to 127.0.0.1:9000 (attempt 2 of 6) | bob ") {
		t.Fatalf("second KEY_REQ: %q", got)
	}

	verdict := fmt.Errorf("%w at 127.0.0.1:9000 (UDP): KEY_REQ 2 of 6 drew an ICMP port unreachable", client.ErrNothingListens)
	failed := client.HandshakeFailedEvent{Server: server, Err: verdict, Next: server, Retry: 2 * time.Second}
	h.event(failed)
	if got := h.status(); !strings.Contains(got, markFailed+" nothing listens at 127.0.0.1:9000 (UDP); again in 2s | bob ") {
		t.Fatalf("after the verdict: %q", got)
	}
	shown := "-*- connection failed: " + verdict.Error() + "; trying again in 2s (/quit to leave)"
	h.contains(shown)

	// The next handshake, given up on for the same reason: the status
	// line counts again and says so again; the view does not repeat it.
	h.event(client.AttemptEvent{Server: server, Attempt: 1, Of: 6, Wait: time.Second})
	if got := h.status(); !strings.Contains(got, " connecting to 127.0.0.1:9000 (attempt 1 of 6) | bob ") {
		t.Fatalf("the next handshake: %q", got)
	}
	failed.Retry = 4 * time.Second
	h.event(failed)
	if got := h.status(); !strings.Contains(got, "nothing listens at 127.0.0.1:9000 (UDP); again in 4s") {
		t.Fatalf("after the second verdict: %q", got)
	}
	if n := h.entries("connection failed: nothing listens"); n != 1 {
		t.Fatalf("the same verdict shown %d times", n)
	}
	silence := fmt.Errorf("%w 127.0.0.1:9000 after 6 KEY_REQs over 31s (protocol 2 or 1, codec json, suite x): likely ...", client.ErrNoAnswer)
	h.event(client.HandshakeFailedEvent{Server: server, Err: silence, Next: server, Retry: 8 * time.Second})
	if got := h.status(); !strings.Contains(got, markFailed+" no answer from 127.0.0.1:9000; again in 8s | bob ") {
		t.Fatalf("after silence: %q", got)
	}
	h.contains("-*- connection failed: " + silence.Error() + "; trying again in 8s (/quit to leave)")

	h.event(connected("bob"))
	if got := h.status(); !strings.Contains(got, markDelivered+" connected | 127.0.0.1:9000 | bob") {
		t.Fatalf("connected: %q", got)
	}
	h.event(client.StateEvent{State: client.StateReconnecting, Server: server},
		client.AttemptEvent{Server: server, Attempt: 3, Of: 6, Wait: 4 * time.Second})
	if got := h.status(); !strings.Contains(got, " reconnecting to 127.0.0.1:9000 (attempt 3 of 6) | bob ") {
		t.Fatalf("reconnecting: %q", got)
	}
	// A client with another server to go to says which.
	other := netip.MustParseAddrPort("127.0.0.1:9001")
	h.event(client.HandshakeFailedEvent{Server: server, Err: verdict, Next: other})
	if got := h.status(); !strings.Contains(got, "nothing listens at 127.0.0.1:9000 (UDP); trying 127.0.0.1:9001 | bob ") {
		t.Fatalf("moving on: %q", got)
	}
	h.contains("; trying 127.0.0.1:9001 next (/quit to leave)")
	// Round the two servers again: the view does not repeat either.
	h.event(client.HandshakeFailedEvent{Server: other, Err: silence, Next: server},
		client.HandshakeFailedEvent{Server: server, Err: verdict, Next: other})
	if n := h.entries("; trying 127.0.0.1:9001 next"); n != 1 {
		t.Fatalf("the verdict on 127.0.0.1:9000 shown %d times since connected", n)
	}
}
