package tui

import (
	"strings"
	"testing"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
)

func TestMentions(t *testing.T) {
	tests := []struct {
		kind  core.MessageKind
		text  string
		marks int // highlighted mentions
		bell  bool
	}{
		{core.KindChat, "hey bob, lunch?", 1, true},
		{core.KindChat, "BOB: and @bob too", 2, true},
		{core.KindChat, "bobby and kebob are not you", 0, false},
		{core.KindAction, "pokes bob", 1, true},
		{core.KindPrivate, "no name but for you alone", 0, true},
		{core.KindHistory, "bob said this yesterday", 1, false},
		{core.KindSystem, "bob joined", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.Bell = true })
			h.event(client.MessageEvent{Message: core.Message{Kind: tt.kind, From: "alice", To: "bob", Text: tt.text, Time: t0}})
			mark := h.m.theme.mention.Render("bob")
			upper := h.m.theme.mention.Render("BOB")
			messages := h.m.view.View() // the status line uses reverse video too
			if got := strings.Count(messages, mark) + strings.Count(messages, upper); got != tt.marks {
				t.Errorf("%d mentions highlighted, want %d", got, tt.marks)
			}
			if (h.bell > 0) != tt.bell {
				t.Errorf("bell rung %d times, want %v", h.bell, tt.bell)
			}
		})
	}
}

func TestBellIsConfigurable(t *testing.T) {
	h := newHarness(t) // Bell off
	h.msg(core.KindChat, "alice", "bob?")
	if h.bell != 0 {
		t.Fatal("bell rung with Bell off")
	}
	h.enter("/bell")
	h.contains("-*- bell: on")
	h.msg(core.KindChat, "alice", "bob!")
	if h.bell != 1 {
		t.Fatalf("bell rung %d times after /bell", h.bell)
	}
	h.enter("/bell off")
	h.msg(core.KindChat, "alice", "bob!!")
	if h.bell != 1 {
		t.Fatal("bell rung after /bell off")
	}
	h.enter("/bell loud")
	h.contains("-*- usage: /bell [on|off]")
}

func TestMentionFollowsRename(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Bell = true })
	h.msg(core.KindSystem, core.SystemSender, "bob is now known as robert")
	if h.m.nick != "robert" {
		t.Fatalf("nick = %q", h.m.nick)
	}
	h.msg(core.KindChat, "alice", "robert, hi")
	h.msg(core.KindChat, "alice", "bob is gone")
	if h.bell != 1 {
		t.Fatalf("bell rung %d times, want once: for the new name only", h.bell)
	}
	h.enter("hello")
	h.contains("robert: hello")
}

func TestThemes(t *testing.T) {
	tests := []struct {
		name, option, noColor, want string
	}{
		{"default", "", "", ThemeColor},
		{"NO_COLOR", "", "1", ThemeMono},
		{"explicit mono", ThemeMono, "", ThemeMono},
		{"explicit color wins over NO_COLOR", ThemeColor, "1", ThemeColor},
		{"unknown falls back to color", "neon", "", ThemeColor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			h := newHarness(t, func(o *Options) { o.Theme = tt.option })
			if h.m.theme.name != tt.want {
				t.Fatalf("theme %q, want %q", h.m.theme.name, tt.want)
			}
			if tt.option == "neon" {
				h.contains(`-*- unknown theme "neon"`)
			}
		})
	}
	if CheckTheme("neon") == nil || CheckTheme(ThemeMono) != nil || CheckTheme("") != nil {
		t.Error("CheckTheme")
	}
}

func TestMonoHasNoColour(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Theme = ThemeMono })
	h.msg(core.KindChat, "alice", "hi bob")
	h.msg(core.KindError, core.SystemSender, "nope")
	h.enter("/me waves")
	h.event(connected("bob"))
	content := h.m.View().Content
	// No SGR sequence may hold a colour parameter: 30-38, 40-48, 90-97 or
	// 100-107.
	for _, seq := range strings.Split(content, "\x1b[")[1:] {
		end := strings.IndexByte(seq, 'm')
		if end < 0 {
			continue
		}
		for _, p := range strings.Split(seq[:end], ";") {
			if len(p) == 2 && (p[0] == '3' || p[0] == '4' || p[0] == '9') && p[1] != '9' || len(p) == 3 && p[:2] == "10" {
				t.Fatalf("colour parameter %s in %q in the mono theme", p, "\x1b["+seq[:end+1])
			}
		}
	}
}

func TestSwitchTheme(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Theme = ThemeMono })
	h.msg(core.KindChat, "alice", "hi")
	mono := h.m.View().Content
	h.enter("/theme color")
	h.contains("-*- theme: color")
	if h.m.View().Content == mono || !strings.Contains(h.m.View().Content, h.m.theme.nick("alice", false).Render("alice")) {
		t.Fatal("lines already drawn did not take the new theme")
	}
	h.enter("/theme")
	h.contains("-*- theme: color (/theme color or /theme mono)")
	h.enter("/theme sepia")
	h.contains(`-*- unknown theme "sepia"`)
}

func TestNickColours(t *testing.T) {
	th := colorTheme()
	if th.nick("Alice", false).GetForeground() != th.nick("alice", false).GetForeground() {
		t.Error("a name's colour depends on its case")
	}
	colours := map[any]bool{}
	for _, n := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"} {
		if th.nick(n, false).GetForeground() != th.nick(n, false).GetForeground() {
			t.Fatal("a name's colour changes")
		}
		colours[th.nick(n, false).GetForeground()] = true
	}
	if len(colours) < 4 {
		t.Errorf("8 names share %d colours", len(colours))
	}
	if th.nick("bob", true).GetForeground() != th.own.GetForeground() {
		t.Error("own name not in the own style")
	}
}
