package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
)

// joined is a harness whose user typed /join #go, which the server took.
func joined(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.enter("/join #go")
	h.event(client.DeliveredEvent{ID: 1})
	h.msg(core.KindSystem, core.SystemSender, "you joined #go (topic: gophers); 2 in #go: alice (idle 3s), bob (idle 0s)")
	return h
}

func TestJoinShowsTheChannelAtOnce(t *testing.T) {
	h := newHarness(t)
	h.wantBar("")
	h.enter("/join #Go")
	// The switch does not wait for the server: the channel is on screen,
	// with the /join pending in it.
	h.wantBar("#lobby [#go]")
	h.contains("> /join #Go " + markPending)
	// Said in the lobby: the session is not in #go until the server runs it.
	h.wantSent("#lobby: /join #Go")
	h.event(client.DeliveredEvent{ID: 1})
	h.msg(core.KindSystem, core.SystemSender, "you joined #go (topic: gophers); 2 in #go: alice (idle 3s), bob (idle 0s)")
	h.contains("> /join #Go "+markDelivered, "-!- you joined #go (topic: gophers)")
	checkFrame(t, h, testW, testH)

	// Its members are names to complete.
	h.typeText("al")
	h.press("tab")
	if !strings.HasPrefix(h.inputLine(), "bob> alice") {
		t.Errorf("input after Tab = %q", h.inputLine())
	}
}

func TestMessagesGoToTheirChannel(t *testing.T) {
	h := joined(t)
	h.roomMsg("#go", 1, core.KindChat, "alice", "generics are here")
	h.roomMsg("", 7, core.KindChat, "carol", "anyone for lunch?")
	h.roomMsg("", 8, core.KindSystem, core.SystemSender, "dave joined")
	h.contains("alice: generics are here")
	h.lacks("anyone for lunch", "dave joined")
	// One line of talk came in the lobby; joins are not talk.
	h.wantBar("#lobby+1 [#go]")

	h.press("alt+left")
	h.wantBar("[#lobby] #go")
	h.contains("carol: anyone for lunch?", "-!- dave joined")
	h.lacks("generics are here")

	// A channel's messages mark it while the lobby is shown.
	h.roomMsg("#go", 2, core.KindAction, "alice", "compiles")
	h.wantBar("[#lobby] #go+1")
	h.press("alt+right")
	h.wantBar("#lobby [#go]")
	h.contains("alice: generics are here", "* alice compiles")
	h.lacks("anyone for lunch")

	// Alt+Right goes round the end of the bar; Alt+digit goes to a place.
	h.press("alt+right")
	h.wantBar("[#lobby] #go")
	h.press("alt+3") // no third channel: nothing changes
	h.press("alt+1")
	h.wantBar("[#lobby] #go")
}

func TestAMentionIsMarkedApart(t *testing.T) {
	h := joined(t)
	h.roomMsg("", 7, core.KindChat, "carol", "anyone for lunch?")
	h.roomMsg("", 8, core.KindChat, "carol", "bob: you?")
	h.wantBar("#lobby+2! [#go]")
	h.press("alt+left")
	h.roomMsg("#go", 3, core.KindChat, "alice", "no mention here")
	h.wantBar("[#lobby] #go+1")
	// Own lines and history are not news.
	h.roomMsg("#go", 4, core.KindChat, "bob", "said from another client")
	h.roomMsg("#go", 5, core.KindHistory, "alice", "old news")
	h.wantBar("[#lobby] #go+1")
}

func TestLinesAreSaidInTheChannelShown(t *testing.T) {
	h := joined(t)
	h.enter("hello gophers")
	h.enter("/me waves")
	h.enter("/who")
	h.contains("bob: hello gophers "+markPending, "* bob waves", "> /who")

	h.press("alt+left")
	h.lacks("hello gophers")
	// Each line names the channel it was typed in, the lobby too, and a
	// command acts where it was said: no /join goes first.
	h.enter("hi lobby")
	h.enter("and again")
	h.contains("bob: hi lobby", "bob: and again")
	h.lacks("> /join #lobby")
	h.press("alt+right")
	h.enter("/who")
	h.enter("/msg carol psst")
	want := []string{
		"#lobby: /join #go",
		"#go: hello gophers", "#go: /me waves", "#go: /who",
		"#lobby: hi lobby", "#lobby: and again",
		"#go: /who", "#go: /msg carol psst",
	}
	h.wantSent(want...)
	h.contains("[private to carol] bob: psst")
}

func TestNoticesForUsShowWhereWeLook(t *testing.T) {
	h := joined(t)
	h.press("alt+left")
	// A private message and the answer to a command have no channel: the
	// one on screen shows them.
	h.event(client.MessageEvent{Message: core.Message{Kind: core.KindPrivate, From: "carol", To: "bob", Text: "psst", Time: t0}})
	h.msg(core.KindError, core.SystemSender, "no such user: zed")
	h.contains("[private] carol: psst", "-!- error: no such user: zed")
	h.wantBar("[#lobby] #go")
	// But the server's word on a channel we went to shows in it.
	h.msg(core.KindSystem, core.SystemSender, "you are talking in #go; 2 in #go: alice (idle 3s), bob (idle 0s)")
	h.lacks("you are talking in #go")
	h.press("alt+right")
	h.contains("-!- you are talking in #go")
}

func TestPartClosesTheChannel(t *testing.T) {
	h := joined(t)
	h.enter("/join #rust")
	h.roomMsg("#go", 9, core.KindChat, "alice", "still here?")
	h.wantBar("#lobby #go+1 [#rust]")
	// /part with no channel leaves the one shown: the server's bare /part
	// would leave its own current one, so the UI names it.
	h.enter("/part")
	h.wantBar("[#lobby] #go+1")
	h.contains("> /part #rust " + markPending)
	// A message of #rust on its way as we left does not bring it back.
	h.roomMsg("#rust", 3, core.KindChat, "ferris", "bye?")
	h.wantBar("[#lobby] #go+1")

	// Another channel by name, from the lobby: the lobby stays shown.
	h.enter("/part #go")
	h.wantBar("")
	// The lobby cannot be left; the server says so.
	h.enter("/part")
	want := []string{"#lobby: /join #go", "#lobby: /join #rust", "#lobby: /part #rust", "#lobby: /part #go", "#lobby: /part #lobby"}
	h.wantSent(want...)

	// A refused /part leaves us in the channel: its messages show again.
	h.event(client.RefusedEvent{ID: 4, Reason: "you are not in #go"})
	h.roomMsg("#go", 10, core.KindChat, "alice", "you are back")
	h.wantBar("[#lobby] #go+1")

	// Joining again brings back what was parted.
	h.enter("/join #rust")
	h.roomMsg("#rust", 4, core.KindChat, "ferris", "welcome back")
	h.contains("ferris: welcome back")
}

func TestEachChannelKeepsItsPlace(t *testing.T) {
	h := joined(t)
	h.press("alt+left")
	fill(h, 1, 40)
	h.press("pgup")
	top := h.screenLines()[0]
	h.press("alt+right")
	h.lacks("message ", "more below")
	h.roomMsg("#go", 1, core.KindChat, "alice", "in go")
	h.contains("alice: in go")
	h.press("alt+left")
	if got := h.screenLines()[0]; got != top {
		t.Errorf("the lobby's first line is %q, was %q when left", got, top)
	}
	h.contains("more below")
	h.press("esc")
	h.contains("message 40")

	// /clear clears the channel shown only.
	h.enter("/clear")
	h.lacks("message 40")
	h.press("alt+right")
	h.contains("alice: in go")
}

func TestRetryIsSaidWhereItWasTyped(t *testing.T) {
	h := joined(t)
	h.enter("lost in go")
	h.event(client.FailedEvent{ID: 2})
	h.press("alt+left")
	h.enter("/retry")
	h.contains("no undelivered message to send again")
	h.press("alt+right")
	h.enter("/retry")
	if got := h.chat.SentIn(); got[len(got)-1] != "#go: lost in go" {
		t.Fatalf("sent %q", got)
	}
	h.contains("lost in go " + markFailed + " not delivered (sent again below)")
}

func TestChannelCommandsComplete(t *testing.T) {
	for _, cmd := range []string{"/join", "/part", "/list", "/topic"} {
		h := newHarness(t)
		h.typeText(cmd[:len(cmd)-1])
		h.press("tab")
		if got := h.inputLine(); !strings.HasPrefix(got, "bob> "+cmd) {
			t.Errorf("%s: input after Tab = %q", cmd, got)
		}
	}
}

func TestAChannelNameFromTheNetworkIsChecked(t *testing.T) {
	// The codecs refuse such a name; the UI does not draw one if a codec
	// let it through.
	h := joined(t)
	h.roomMsg("#go\x1b[2J", 1, core.KindChat, "mallory", "boo")
	if strings.Contains(h.m.View().Content, "\x1b[2J") {
		t.Fatal("a channel name from the network reached the terminal")
	}
	h.wantBar("#lobby [#go]")
}

func TestSeedServerHasNoChannels(t *testing.T) {
	h := newHarness(t)
	h.event(client.StateEvent{State: client.StateConnected, Info: &client.SessionInfo{Version: 1}})
	h.enter("/join #go")
	h.enter("/part")
	h.wantBar("")
	h.wantSent("#lobby: /join #go", "#lobby: /part")
}

func TestTheBarKeepsTheFrame(t *testing.T) {
	h := joined(t)
	for _, ch := range []string{"#rust", "#zig", "#haskell", "#ocaml", "#erlang", "#elixir"} {
		h.enter("/join " + ch)
	}
	h.roomMsg("", 5, core.KindChat, "carol", "bob!")
	fill(h, 1, 30)
	for _, size := range []struct{ w, h int }{{60, 12}, {30, 20}, {20, 5}, {8, 4}, {8, 3}, {8, 1}} {
		h.send(tea.WindowSizeMsg{Width: size.w, Height: size.h})
		checkFrame(t, h, size.w, size.h)
	}
	// Too many to fit: the one shown stays in sight.
	h.send(tea.WindowSizeMsg{Width: 30, Height: 12})
	if b := h.bar(); !strings.HasPrefix(b, "<") || !strings.Contains(b, "[#elixir]") {
		t.Errorf("bar = %q, want it cut at the start, the current channel in sight", b)
	}
	h.press("pgup")
	checkFrame(t, h, 30, 12)
	h.contains("more below")
	h.send(tea.WindowSizeMsg{Width: 30, Height: 4})
	checkFrame(t, h, 30, 4)
}

func TestARefusedJoinClosesItsView(t *testing.T) {
	h := joined(t)
	h.enter("/join #eleventh")
	h.wantBar("#lobby #go [#eleventh]")
	h.event(client.RefusedEvent{ID: 2, Reason: "you are in 10 channels already: /part one first"})
	h.wantBar("[#lobby] #go")
	h.contains("-*- /join #eleventh refused: you are in 10 channels already: /part one first")

	// A refused /join of a channel we are in (here by a second /join)
	// leaves its view alone: its messages still come.
	h.press("alt+right")
	h.enter("/join #go")
	h.event(client.RefusedEvent{ID: 3, Reason: "no"})
	h.wantBar("#lobby [#go]")
}
