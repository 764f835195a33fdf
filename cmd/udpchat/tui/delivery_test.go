package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
)

func TestDeliveryStateUpdatesInPlace(t *testing.T) {
	h := newHarness(t)
	h.enter("hello")
	if got := h.chat.Sent(); !slices.Equal(got, []string{"hello"}) {
		t.Fatalf("sent %q", got)
	}
	if h.inputLine() != "bob> type a message; /help lists commands" {
		t.Errorf("input not cleared: %q", h.inputLine())
	}
	h.contains("14:30 bob: hello " + markPending)

	h.event(client.DeliveredEvent{ID: 1})
	h.contains("14:30 bob: hello " + markDelivered)
	h.lacks(markPending)

	h.enter("are you there?")
	h.event(client.FailedEvent{ID: 2, Err: errors.New("no ACK after 5 retries")})
	h.contains("bob: are you there? " + markFailed + " not delivered: no ACK after 5 retries (/retry sends it again)")
	if n := strings.Count(h.screen(), "bob: "); n != 2 {
		t.Fatalf("%d own lines, want 2: states change in place", n)
	}

	// Events for IDs that are not ours change nothing.
	h.event(client.DeliveredEvent{ID: 99}, client.FailedEvent{ID: 98})
	h.contains("bob: hello " + markDelivered)
}

// TestRefusedIsNeverDelivered: a line the server refused is marked ✗ with
// the reason, never ✓, and /retry does not send it again (it would be
// refused again).
func TestRefusedIsNeverDelivered(t *testing.T) {
	h := newHarness(t)
	h.enter("/msg nobody hi")
	h.event(client.RefusedEvent{ID: 1, Reason: "no such user: nobody"})
	h.contains("[private to nobody] bob: hi " + markFailed + " refused: no such user: nobody")
	h.lacks(markDelivered, markPending, "/retry sends")
	h.enter("/retry")
	h.contains("-*- no undelivered message to send again")
	if got := h.chat.Sent(); !slices.Equal(got, []string{"/msg nobody hi"}) {
		t.Fatalf("sent %q", got)
	}
}

func TestRetryResendsTheLastFailed(t *testing.T) {
	h := newHarness(t)
	h.enter("/retry")
	h.contains("-*- no undelivered message to send again")

	h.enter("first")
	h.enter("second")
	h.event(client.FailedEvent{ID: 1, Err: errors.New("lost")}, client.FailedEvent{ID: 2, Err: errors.New("lost")})
	h.enter("/retry")
	if got := h.chat.Sent(); !slices.Equal(got, []string{"first", "second", "second"}) {
		t.Fatalf("sent %q, want the newest failed line again", got)
	}
	h.contains(
		"bob: second "+markFailed+" not delivered (sent again below)",
		"bob: second "+markPending,
	)
	h.event(client.DeliveredEvent{ID: 3})
	h.contains("bob: second " + markDelivered)

	h.enter("/retry")
	if got := h.chat.Sent(); got[len(got)-1] != "first" {
		t.Fatalf("second /retry sent %q, want the older failed line", got)
	}
}

func TestDeliveredBeforeSendReturned(t *testing.T) {
	// The engine can acknowledge a message before the Send that queued it
	// has returned its ID to the UI.
	h := newHarness(t)
	h.typeText("quick")
	cmd := h.update(keys["enter"])
	h.event(client.DeliveredEvent{ID: 1})
	h.contains("bob: quick " + markPending)
	h.run(cmd)
	h.contains("bob: quick " + markDelivered)
}

func TestLinesAreSentOneAtATimeInOrder(t *testing.T) {
	h := newHarness(t)
	var cmds []tea.Cmd
	for _, s := range []string{"one", "two", "three"} {
		h.typeText(s)
		cmds = append(cmds, h.update(keys["enter"]))
	}
	if cmds[0] == nil || cmds[1] != nil || cmds[2] != nil {
		t.Fatal("a second Send started before the first returned")
	}
	h.run(cmds[0]) // its result starts the next Send, and so on
	if got := h.chat.Sent(); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Fatalf("sent %q", got)
	}
	h.contains("bob: one "+markPending, "bob: two "+markPending, "bob: three "+markPending)
}

func TestSendErrorFailsTheMessage(t *testing.T) {
	h := newHarness(t)
	h.chat.sendErr = core.ErrClosed
	h.enter("into the void")
	h.contains("bob: into the void " + markFailed + " not delivered: " + core.ErrClosed.Error())
}

func TestTooLongStaysInTheInput(t *testing.T) {
	h := newHarness(t)
	h.chat.maxLen = 5
	h.enter("much too long")
	if len(h.chat.Sent()) != 0 {
		t.Fatal("sent a line the engine refuses")
	}
	if h.m.input.Value() != "much too long" {
		t.Errorf("input = %q, want the line kept for editing", h.m.input.Value())
	}
	h.contains("-*- not sent: " + core.ErrTooLong.Error())
}

func TestOwnLinesShowWhatTheyMean(t *testing.T) {
	tests := []struct{ line, want string }{
		{"/me waves", "14:30 * bob waves " + markPending},
		{"/msg alice hi there", "14:30 [private to alice] bob: hi there " + markPending},
		{"/who", "14:30 > /who " + markPending},
		{"/me", "14:30 > /me " + markPending},
		{"//etc/passwd is a path", "14:30 bob: /etc/passwd is a path " + markPending},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			h := newHarness(t)
			h.enter(tt.line)
			if got := h.chat.Sent(); !slices.Equal(got, []string{tt.line}) {
				t.Fatalf("sent %q, want the line as typed", got)
			}
			h.contains(tt.want)
		})
	}
}
