package tui

import (
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/udpchat/udpchat/core"
)

func TestUnicodeInput(t *testing.T) {
	tests := []struct {
		name  string
		typed string
		width int // cells
	}{
		{"accents", "café crème brûlée", 17},
		{"CJK", "你好，世界", 10},
		{"emoji", "ok 👍🎉", 7},
		{"mixed", "Zoë 说 🙂", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.typeText(tt.typed)
			if got := h.m.input.Value(); got != tt.typed {
				t.Fatalf("input = %q, want %q", got, tt.typed)
			}
			if got := h.inputLine(); got != "bob> "+tt.typed {
				t.Errorf("input line = %q", got)
			}
			// The terminal's cursor stands after the text, counted in cells.
			if x := h.m.View().Cursor.X; x != len("bob> ")+tt.width {
				t.Errorf("cursor at column %d, want %d", x, len("bob> ")+tt.width)
			}
			// Left steps over one character, however wide.
			last := []rune(tt.typed)[len([]rune(tt.typed))-1]
			h.press("left")
			if x := h.m.View().Cursor.X; x != len("bob> ")+tt.width-displayWidth(string(last)) {
				t.Errorf("after Left the cursor is at column %d", x)
			}
			h.press("enter")
			if got := h.chat.Sent(); !slices.Equal(got, []string{tt.typed}) {
				t.Fatalf("sent %q, want %q byte for byte", got, tt.typed)
			}
			h.contains("bob: " + tt.typed)
		})
	}
}

func TestPastedUnicode(t *testing.T) {
	h := newHarness(t)
	text := "e\u0301 👨‍👩‍👧 中"
	h.send(tea.PasteMsg{Content: text})
	if got := h.m.input.Value(); got != text {
		t.Fatalf("input = %q, want %q", got, text)
	}
	h.press("enter")
	if got := h.chat.Sent(); !slices.Equal(got, []string{text}) {
		t.Fatalf("sent %q", got)
	}
}

func TestEditingKeys(t *testing.T) {
	h := newHarness(t)
	h.typeText("hello brave new world")
	h.press("ctrl+w")
	if got := h.m.input.Value(); got != "hello brave new " {
		t.Fatalf("after Ctrl+W: %q", got)
	}
	h.press("home")
	h.typeText(">> ")
	h.press("end")
	h.typeText("café")
	if got := h.m.input.Value(); got != ">> hello brave new café" {
		t.Fatalf("after Home and End: %q", got)
	}
	h.press("ctrl+left", "backspace")
	if got := h.m.input.Value(); got != ">> hello brave newcafé" {
		t.Fatalf("after Ctrl+Left, Backspace: %q", got)
	}
}

func TestLongInputScrollsSideways(t *testing.T) {
	h := newHarness(t)
	text := strings.Repeat("中文", 30) // 120 cells on a 60-cell line
	h.typeText(text)
	line := h.inputLine()
	if w := displayWidth(line); w > testW {
		t.Fatalf("input line is %d cells wide", w)
	}
	x := h.m.View().Cursor.X
	if x < 0 || x >= testW {
		t.Fatalf("cursor at column %d, off the screen", x)
	}
	if !strings.HasSuffix(strings.TrimRight(line, " "), "中文") {
		t.Errorf("the end of the text, where the cursor is, is not shown: %q", line)
	}
	h.press("home")
	if x := h.m.View().Cursor.X; x != len("bob> ") {
		t.Errorf("after Home, cursor at column %d", x)
	}
	if !strings.HasPrefix(h.inputLine(), "bob> 中文") {
		t.Errorf("after Home, the start is not shown: %q", h.inputLine())
	}
}

func TestHistoryNavigation(t *testing.T) {
	h := newHarness(t)
	h.enter("one")
	h.enter("two 🙂")
	h.typeText("draft")
	steps := []struct{ key, want string }{
		{"up", "two 🙂"},
		{"up", "one"},
		{"up", "one"}, // the oldest stays
		{"down", "two 🙂"},
		{"down", "draft"}, // what was being typed comes back
		{"down", "draft"},
	}
	for i, s := range steps {
		h.press(s.key)
		if got := h.m.input.Value(); got != s.want {
			t.Fatalf("step %d (%s): input %q, want %q", i, s.key, got, s.want)
		}
	}
	// A recalled line is sent as any other, and the cursor is at its end.
	h.press("up")
	if x, want := h.m.View().Cursor.X, len("bob> ")+displayWidth("two 🙂"); x != want {
		t.Errorf("cursor at %d, want %d", x, want)
	}
	h.press("enter")
	if got := h.chat.Sent(); !slices.Equal(got, []string{"one", "two 🙂", "two 🙂"}) {
		t.Fatalf("sent %q", got)
	}
	// Local commands are remembered too.
	h.enter("/bell off")
	h.press("up")
	if got := h.m.input.Value(); got != "/bell off" {
		t.Fatalf("input %q", got)
	}
}

func TestTabCompletion(t *testing.T) {
	h := newHarness(t)
	h.msg(core.KindChat, "alan", "hi")
	h.msg(core.KindChat, "alice", "hello") // spoke last: offered first
	h.msg(core.KindSystem, core.SystemSender, "carol joined")
	h.msg(core.KindSystem, core.SystemSender, "3 here: alan (idle 1s) bob (idle 0s) dave (idle 1m9s)")

	// tab presses key and checks that the input then reads want; what names
	// the check.
	tab := func(what, key, want string) {
		t.Helper()
		h.press(key)
		if got := h.m.input.Value(); got != want {
			t.Fatalf("%s: %q", what, got)
		}
	}
	h.typeText("al")
	tab("Tab", "tab", "alice: ")
	tab("Tab again", "tab", "alan: ")
	tab("Shift+Tab", "shift+tab", "alice: ")
	h.typeText("ask @da")
	tab("@ mention", "tab", "alice: ask @dave ")
	h.m.input.Reset()

	h.typeText("ca")
	tab("joined nick", "tab", "carol: ")
	h.m.input.Reset()

	h.typeText("b")
	tab("own nick offered", "tab", "b")
	h.m.input.Reset()

	h.typeText("/re")
	tab("local command", "tab", "/retry ")
	h.m.input.Reset()
	h.typeText("/w")
	tab("server command", "tab", "/who ")
	h.typeText("x")
	h.m.input.Reset()
	h.typeText("/msg c")
	tab("nick after /msg", "tab", "/msg carol ")
	h.m.input.Reset()

	// Renames are followed.
	h.msg(core.KindSystem, core.SystemSender, "carol is now known as caz")
	h.typeText("ca")
	tab("after rename", "tab", "caz: ")
}

func TestQuit(t *testing.T) {
	for _, how := range []string{"/quit", "ctrl+c"} {
		t.Run(how, func(t *testing.T) {
			h := newHarness(t)
			if how == "ctrl+c" {
				h.typeText("half a line")
				h.press("ctrl+c")
			} else {
				h.enter(how)
			}
			if !h.quit {
				t.Fatal("did not quit")
			}
			if len(h.chat.Sent()) != 0 {
				t.Fatalf("sent %q", h.chat.Sent())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	h := newHarness(t, func(o *Options) {})
	h.send(tea.WindowSizeMsg{Width: 200, Height: 40})
	h.enter("/help")
	for _, c := range commandNames() {
		if !strings.Contains(h.screen(), c) {
			t.Errorf("/help does not mention %s", c)
		}
	}
	h.contains("-*- commands of this client:", "-*- the server's commands: /nick",
		"Alt+Left/Right show the previous or next channel", "#lobby+3 got 3 lines since you looked")
	if got := h.chat.Sent(); !slices.Equal(got, []string{"/help"}) {
		t.Fatalf("sent %q, want the server asked for its /help", got)
	}
	h.msg(core.KindSystem, core.SystemSender, "commands: /nick NAME: change your nickname;")
	h.contains("-!- commands: /nick NAME")
}

func TestClear(t *testing.T) {
	h := newHarness(t)
	h.msg(core.KindChat, "alice", "old news")
	h.enter("/clear")
	h.lacks("old news")
	h.msg(core.KindChat, "alice", "fresh")
	h.contains("alice: fresh")
}
