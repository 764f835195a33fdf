package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
)

// checkFrame fails the test unless the screen is exactly w×h cells, with
// the status line and the input line at the bottom.
func checkFrame(t *testing.T, h *harness, w, ht int) {
	t.Helper()
	lines := h.screenLines()
	if len(lines) != ht {
		t.Fatalf("%d lines on a %d-line screen:\n%s", len(lines), ht, h.screen())
	}
	for i, l := range lines {
		if displayWidth(l) > w {
			t.Errorf("line %d is %d cells on a %d-cell screen: %q", i, displayWidth(l), w, l)
		}
	}
	if ht >= 2 && !strings.Contains(h.status(), "127.0.0.1") && w >= 40 {
		t.Errorf("status line = %q", h.status())
	}
	if w >= 4 && !strings.HasPrefix(h.inputLine(), "bob>") {
		t.Errorf("input line = %q", h.inputLine())
	}
}

func TestResize(t *testing.T) {
	h := newHarness(t)
	long := strings.Repeat("wrap me ", 20)
	h.msg(core.KindChat, "alice", long)
	h.msg(core.KindChat, "carol", "中文 "+strings.Repeat("字", 40))
	checkFrame(t, h, testW, testH)
	before := strings.Count(h.screen(), "wrap")

	h.send(tea.WindowSizeMsg{Width: 30, Height: 40})
	checkFrame(t, h, 30, 40)
	if got := strings.Count(h.screen(), "wrap"); got != before {
		t.Errorf("%d words after narrowing, want all %d rewrapped", got, before)
	}
	wrapped := 0
	for _, l := range h.screenLines() {
		if strings.Contains(l, "wrap") {
			wrapped++
		}
	}
	if wrapped < 5 {
		t.Errorf("%d lines at width 30: not rewrapped", wrapped)
	}
}

func TestResizeKeepsTheFrame(t *testing.T) {
	sizes := []struct{ w, h int }{{30, 20}, {100, 8}, {20, 5}, {80, 24}, {8, 4}, {8, 3}, {8, 2}, {8, 1}, {1, 1}}
	for _, scrolled := range []bool{false, true} {
		h := newHarness(t)
		h.msg(core.KindChat, "alice", strings.Repeat("wrap me ", 20))
		h.event(client.StateEvent{State: client.StateConnected, Info: &client.SessionInfo{
			Version: 2, Nick: "bob", Suite: "x25519-chacha20poly1305", ServerKey: make([]byte, 32)}})
		fill(h, 1, 30)
		if scrolled {
			h.press("pgup")
		}
		for _, size := range sizes {
			h.send(tea.WindowSizeMsg{Width: size.w, Height: size.h})
			checkFrame(t, h, size.w, size.h)
		}
	}
}

// fill adds n numbered messages.
func fill(h *harness, from, to int) {
	for i := from; i <= to; i++ {
		h.msg(core.KindChat, "alice", fmt.Sprintf("message %02d", i))
	}
}

func TestScrollback(t *testing.T) {
	h := newHarness(t)
	fill(h, 1, 40)
	h.contains("message 40")
	h.lacks("message 01", "more below")

	h.press("pgup")
	h.contains("more below")
	h.lacks("message 40")
	top := h.screenLines()[0]

	// New messages do not move what is being read; the marker counts them.
	fill(h, 41, 42)
	if h.screenLines()[0] != top {
		t.Errorf("the view moved while scrolled back: %q, was %q", h.screenLines()[0], top)
	}
	h.contains("2 new messages below")
	h.lacks("message 42")

	h.press("ctrl+home")
	h.contains("message 01")
	h.press("shift+down")
	h.lacks("message 01")
	h.contains("message 02")

	for range 20 {
		h.press("pgdown")
	}
	h.contains("message 42")
	h.lacks("more below", "new message")
	checkFrame(t, h, testW, testH)

	// At the bottom again, new messages come into view.
	fill(h, 43, 43)
	h.contains("message 43")
}

func TestEscReturnsToTheNewest(t *testing.T) {
	h := newHarness(t)
	fill(h, 1, 30)
	h.press("pgup", "pgup")
	fill(h, 31, 31)
	h.contains("1 new message below")
	h.press("esc")
	h.contains("message 31")
	h.lacks("new message below")
}

func TestMouseWheelScrolls(t *testing.T) {
	h := newHarness(t)
	fill(h, 1, 30)
	h.send(tea.MouseWheelMsg{Button: tea.MouseWheelUp})
	h.contains("more below")
	h.lacks("message 30")
	for range 10 {
		h.send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	}
	h.contains("message 30")
	h.lacks("more below")
	if h.m.View().MouseMode != tea.MouseModeCellMotion {
		t.Error("the view does not ask for mouse events: the wheel would not reach it")
	}
}

func TestSendingReturnsToTheNewest(t *testing.T) {
	h := newHarness(t)
	fill(h, 1, 30)
	h.press("pgup")
	h.enter("back to the present")
	h.contains("message 30", "bob: back to the present")
	h.lacks("more below")
}

func TestViewRestoresTheTerminal(t *testing.T) {
	// Alternate screen: what was on the terminal before comes back on exit.
	h := newHarness(t)
	if !h.m.View().AltScreen {
		t.Error("not on the alternate screen")
	}
}
