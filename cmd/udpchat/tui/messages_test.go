package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
)

func TestMessageKinds(t *testing.T) {
	yesterday := t0.Add(-24 * time.Hour)
	tests := []struct {
		name  string
		msg   core.Message
		want  string             // the line as shown, without styles
		style func(theme) string // the styled part the line must hold
	}{
		{
			name:  "chat",
			msg:   core.Message{Kind: core.KindChat, From: "alice", Text: "hello there", Time: t0},
			want:  "14:30 alice: hello there",
			style: func(th theme) string { return th.nick("alice", false).Render("alice") },
		},
		{
			name:  "action",
			msg:   core.Message{Kind: core.KindAction, From: "alice", Text: "waves", Time: t0},
			want:  "14:30 * alice waves",
			style: func(th theme) string { return th.action.Render("* ") },
		},
		{
			name:  "private",
			msg:   core.Message{Kind: core.KindPrivate, From: "alice", To: "bob", Text: "psst", Time: t0},
			want:  "14:30 [private] alice: psst",
			style: func(th theme) string { return th.private.Render("[private] ") },
		},
		{
			name:  "system",
			msg:   core.Message{Kind: core.KindSystem, From: core.SystemSender, Text: "carol joined", Time: t0},
			want:  "14:30 -!- carol joined",
			style: func(th theme) string { return th.system.Render("-!- carol joined") },
		},
		{
			name:  "error",
			msg:   core.Message{Kind: core.KindError, From: core.SystemSender, Text: "no such user: zed", Time: t0},
			want:  "14:30 -!- error: no such user: zed",
			style: func(th theme) string { return th.errorLine.Render("-!- error: no such user: zed") },
		},
		{
			name:  "history from yesterday",
			msg:   core.Message{Kind: core.KindHistory, From: "alice", Text: "before", Time: yesterday},
			want:  yesterday.Format("Jan 02") + " 14:30 alice: before",
			style: func(th theme) string { return th.history.Render("alice: ") },
		},
		{
			name:  "a kind this version does not know is shown as chat",
			msg:   core.Message{Kind: core.MessageKind(99), From: "alice", Text: "from the future", Time: t0},
			want:  "14:30 alice: from the future",
			style: func(th theme) string { return th.nick("alice", false).Render("alice") },
		},
		{
			name:  "no time: the time it arrived",
			msg:   core.Message{Kind: core.KindChat, From: "alice", Text: "untimed"},
			want:  "14:30 alice: untimed",
			style: func(th theme) string { return th.time.Render("14:30") },
		},
	}
	for _, themeName := range []string{ThemeColor, ThemeMono} {
		for _, tt := range tests {
			t.Run(themeName+"/"+tt.name, func(t *testing.T) {
				h := newHarness(t, func(o *Options) { o.Theme = themeName })
				h.event(client.MessageEvent{Message: tt.msg})
				if got := strings.TrimRight(h.line(tt.msg.Text), " "); got != tt.want {
					t.Errorf("line = %q, want %q", got, tt.want)
				}
				if s := tt.style(h.m.theme); !strings.Contains(h.m.View().Content, s) {
					t.Errorf("the line is not styled as its kind: lacks %q", s)
				}
			})
		}
	}
}

func TestHistoryHasADivider(t *testing.T) {
	h := newHarness(t)
	for _, text := range []string{"one", "two"} {
		h.event(client.MessageEvent{Message: core.Message{Kind: core.KindHistory, From: "alice", Text: text, Time: t0}})
	}
	h.msg(core.KindChat, "alice", "now")
	if n := strings.Count(h.screen(), "-- earlier messages --"); n != 1 {
		t.Fatalf("%d dividers, want 1 before the run of history:\n%s", n, h.screen())
	}
	lines := h.screenLines()
	var order []string
	for _, l := range lines {
		for _, w := range []string{"earlier messages", "alice: one", "alice: two", "alice: now"} {
			if strings.Contains(l, w) {
				order = append(order, w)
			}
		}
	}
	if strings.Join(order, ",") != "earlier messages,alice: one,alice: two,alice: now" {
		t.Fatalf("order = %v", order)
	}
}

func TestNoticeAndStateLines(t *testing.T) {
	h := newHarness(t)
	h.event(client.NoticeEvent{Text: "the server speaks only protocol version 1"})
	h.contains("14:30 -!- warning: the server speaks only protocol version 1")
}

func TestUntrustedTextIsDefused(t *testing.T) {
	h := newHarness(t)
	h.msg(core.KindChat, "mal\x1b[31mlory", "clear\x1b[2J\x1b]0;pwned\x07 \u202Egnp.exe\ttab\nnew \xff")
	raw := h.m.View().Content
	for _, bad := range []string{"\x1b[2J", "\x1b]0;", "\x07", "\u202E", "\xff"} {
		if strings.Contains(raw, bad) {
			t.Errorf("the view passes %q to the terminal", bad)
		}
	}
	h.contains("mal\uFFFD[31mlory: clear\uFFFD[2J\uFFFD]0;pwned\uFFFD gnp.exe tab new \uFFFD")
}

func TestUnicodeMessagesShown(t *testing.T) {
	h := newHarness(t)
	for _, text := range []string{"café crème", "中文消息", "👍🏽 family: 👨‍👩‍👧"} {
		h.msg(core.KindChat, "Zoë", text)
		h.contains("Zoë: " + text)
	}
}

func TestLongLinesWrapUnderThemselves(t *testing.T) {
	h := newHarness(t)
	text := strings.Repeat("lorem ipsum ", 12)
	h.msg(core.KindChat, "alice", text)
	var wrapped []string
	for _, l := range h.screenLines() {
		if strings.Contains(l, "lorem") {
			wrapped = append(wrapped, l)
		}
	}
	if len(wrapped) < 3 {
		t.Fatalf("%d lines, want the text wrapped:\n%s", len(wrapped), h.screen())
	}
	if !strings.HasPrefix(wrapped[0], "14:30 alice: lorem") {
		t.Errorf("first line %q", wrapped[0])
	}
	for _, l := range wrapped[1:] {
		if !strings.HasPrefix(l, "      lorem") && !strings.HasPrefix(l, "      ipsum") {
			t.Errorf("continuation %q is not indented under the text", l)
		}
	}
	// CJK has no spaces to break at: it is cut between characters.
	h.msg(core.KindChat, "li", strings.Repeat("中", 80))
	for _, l := range h.screenLines() {
		if w := len([]rune(l)); strings.Contains(l, "中") && displayWidth(l) > testW {
			t.Errorf("line of %d runes is wider than the screen: %q", w, l)
		}
	}
}
