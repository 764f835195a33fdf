package main

import (
	"crypto/ed25519"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/internal/testkit"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/screenshot.txt from TestScreenshot")

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// clientBinary builds the real udpchat once per test run.
func clientBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "udpchat-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "udpchat")
		if out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = err
			builtBin = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, builtBin)
	}
	return builtBin
}

// pane is the real client running in a real terminal: a tmux session on a
// private tmux server.
type pane struct {
	t    *testing.T
	sock string
}

// startPane runs the built client in tmux, 100x30, with args and env.
func startPane(t *testing.T, env []string, args ...string) *pane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		needTool(t, "tmux is not installed (apt-get install tmux): the real-terminal test cannot run")
	}
	bin := clientBinary(t)
	p := &pane{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	cmdline := strings.Join(append(append(append([]string{"env"}, env...), bin), args...), " ")
	p.tmux("new-session", "-d", "-s", "ui", "-x", "100", "-y", "30", cmdline)
	t.Cleanup(func() { exec.Command("tmux", "-S", p.sock, "kill-server").Run() })
	return p
}

func (p *pane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// capture returns what the terminal shows.
func (p *pane) capture() string { return p.tmux("capture-pane", "-p", "-t", "ui") }

// typeLine types text and presses Enter.
func (p *pane) typeLine(text string) {
	p.t.Helper()
	p.tmux("send-keys", "-t", "ui", "-l", text)
	p.tmux("send-keys", "-t", "ui", "Enter")
}

// press sends keys by tmux's names for them ("M-Left" is Alt+Left), as
// the terminal would send them.
func (p *pane) press(keys ...string) {
	p.t.Helper()
	p.tmux(append([]string{"send-keys", "-t", "ui"}, keys...)...)
}

// waitFor waits until the screen shows every one of want.
func (p *pane) waitFor(want ...string) string {
	p.t.Helper()
	return p.waitUntil(fmt.Sprintf("the screen to show %q", want), func(screen string) bool {
		for _, w := range want {
			if !strings.Contains(screen, w) {
				return false
			}
		}
		return true
	})
}

// waitForText waits until the screen shows every one of want, each
// perhaps wrapped over several lines: spaces and line breaks count as one
// space.
func (p *pane) waitForText(want ...string) string {
	p.t.Helper()
	return p.waitUntil(fmt.Sprintf("the screen to show %q", want), func(screen string) bool {
		flat := strings.Join(strings.Fields(screen), " ")
		for _, w := range want {
			if !strings.Contains(flat, w) {
				return false
			}
		}
		return true
	})
}

// waitExit waits until the client has ended, and its terminal with it.
func (p *pane) waitExit() {
	p.t.Helper()
	testkit.WaitUntil(p.t, "the client to end", func() bool {
		return exec.Command("tmux", "-S", p.sock, "has-session", "-t", "ui").Run() != nil
	})
}

// waitUntil waits until the screen is as ok wants it, and returns it.
func (p *pane) waitUntil(what string, ok func(screen string) bool) string {
	p.t.Helper()
	var screen string
	wait := testkit.Wait{Got: func() string { return screen }}
	wait.Until(p.t, what, func() bool {
		screen = p.capture()
		return ok(screen)
	})
	return screen
}

func clientArgs(t *testing.T, room *chattest.Room, nick string) []string {
	return []string{"--nick", nick, "--known-servers", known(t), "--state-dir", t.TempDir(), "--log-file", filepath.Join(t.TempDir(), "client.log"), room.Addr.String()}
}

// TestTerminalUI: the real client in a real terminal against a real server:
// a message typed there reaches another client, and the screen shows the
// status line (server, nickname, protocol, key fingerprint) and the
// delivery mark.
func TestTerminalUI(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	bob := room.JoinWith(func(cfg *client.Config) { cfg.Nick = "bob" })
	p := startPane(t, nil, clientArgs(t, room, "alice")...)
	key := identity.ShortFingerprint(room.Identity.Public().(ed25519.PublicKey))
	p.waitFor("connected", room.Addr.String(), "alice", "protocol 2", key)

	p.typeLine("héllo 世界 🌍 from a terminal")
	m := bob.WaitMessage("alice's line", func(m core.Message) bool { return m.Kind == core.KindChat })
	if m.From != "alice" || m.Text != "héllo 世界 🌍 from a terminal" {
		t.Fatalf("bob got %+v", m)
	}
	p.waitFor("héllo 世界 🌍 from a terminal ✓")

	bob.WaitDelivered(bob.Say("hi alice, welcome"))
	p.waitFor("bob: hi alice, welcome")
}

// TestTerminalUIChannels: the real client shows the lobby and a channel
// it joined in a bar, switches to the channel at the /join, says a line
// there, marks the lobby when someone speaks in it meanwhile, and clears
// the mark when the user switches back (Alt+Left, through tmux).
func TestTerminalUIChannels(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	bob := room.JoinWith(func(cfg *client.Config) { cfg.Nick = "bob" })
	p := startPane(t, nil, clientArgs(t, room, "alice")...)
	p.waitFor("connected")
	bob.WaitDelivered(bob.Say("/join #go"))

	p.typeLine("/join #go")
	p.waitFor("#lobby [#go]", "/join #go ✓", "you joined #go")
	p.typeLine("hello #go")
	m := bob.WaitMessage("alice's line in #go", func(m core.Message) bool { return m.Kind == core.KindChat && m.From == "alice" })
	if m.Room != "#go" || m.Text != "hello #go" {
		t.Fatalf("bob got %+v, want alice's line in #go", m)
	}

	// bob speaks in the lobby while alice looks at #go: a line that names
	// no channel goes to bob's current one, which /join #lobby makes the
	// lobby again.
	bob.WaitDelivered(bob.Say("/join #lobby"), bob.Say("anyone in the lobby?"))
	screen := p.waitFor("#lobby+1 [#go]")
	if strings.Contains(screen, "anyone in the lobby?") {
		t.Fatalf("a line of the lobby shows in #go:\n%s", screen)
	}

	p.press("M-Left")
	screen = p.waitFor("[#lobby] #go", "bob: anyone in the lobby?")
	if strings.Contains(screen, "#lobby+") || strings.Contains(screen, "hello #go") {
		t.Fatalf("back in the lobby, its mark is not cleared or #go's lines show:\n%s", screen)
	}
	// The server's current channel is #go, and a line typed in the lobby
	// names it: it lands in the lobby.
	p.typeLine("back in the lobby")
	m = bob.WaitMessage("alice's line in the lobby", func(m core.Message) bool { return m.From == "alice" && m.Text == "back in the lobby" })
	if m.Room != "" {
		t.Fatalf("alice's line typed in the lobby went to %s", m.Room)
	}
	p.waitFor("alice: back in the lobby ✓")

	// /who answers for the channel it is typed in.
	p.press("M-Right")
	p.waitFor("#lobby [#go]", "alice: hello #go ✓")
	p.typeLine("/who")
	p.waitUntil("the answer to /who in #go", func(screen string) bool {
		// Its /join's notice, then /who's.
		return strings.Count(screen, "2 in #go: alice") == 2 && strings.Contains(screen, "> /who ✓")
	})
}

// TestTerminalUIReconnect: killing the server and starting it again, the
// screen shows the state change, the client reconnects by itself, and a
// message typed meanwhile is sent once it has.
func TestTerminalUIReconnect(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	env := []string{"UDPCHAT_CLIENT_KEEPALIVE=200ms", "UDPCHAT_RELIABILITY_RTO=200ms", "UDPCHAT_CLIENT_HANDSHAKE_RTO=200ms"}
	p := startPane(t, env, clientArgs(t, room, "alice")...)
	p.waitFor("connected")

	room.StopServer()
	p.waitFor("reconnecting")
	// Its KEY_REQs to the closed port draw ICMP errors: the verdict
	// shows, and the client goes on trying.
	p.waitForText("connection failed: nothing listens at "+room.Addr.String()+" (UDP)", "(/quit to leave)")
	p.typeLine("typed while the server was down")
	p.waitFor("typed while the server was down ⋯")
	room.RestartServer()
	p.waitFor("typed while the server was down ✓", "connected")

	// It reached the new server: a newcomer is shown it as history.
	carol := room.JoinWith(func(cfg *client.Config) { cfg.Nick = "carol" })
	carol.WaitMessage("alice's message, as history", func(m core.Message) bool {
		return m.Kind == core.KindHistory && m.From == "alice" && m.Text == "typed while the server was down"
	})
}

// TestTerminalUINothingListens: with nothing listening at the server's
// port, the screen shows the verdict at once, in the view and the status
// line, while the client tries again by itself; /quit leaves.
func TestTerminalUINothingListens(t *testing.T) {
	dead := chattest.DeadAddr(t).String()
	p := startPane(t, nil, "--nick", "alice", "--known-servers", known(t), "--state-dir", t.TempDir(),
		"--log-file", filepath.Join(t.TempDir(), "client.log"), dead)
	p.waitForText("connection failed: nothing listens at "+dead+" (UDP): KEY_REQ 1 of 6 drew an ICMP port unreachable",
		"(/quit to leave)", "✗ nothing listens at "+dead+" (UDP);")
	p.typeLine("/quit")
	p.waitExit()
}

// TestTerminalUINoAnswer: a server that never answers (a socket bound and
// never read): the status line counts the KEY_REQs as they go, and the
// screen shows the verdict once they are spent, with what was tried and
// the likely causes.
func TestTerminalUINoAnswer(t *testing.T) {
	addr := silentAddr(t).String()
	env := []string{"UDPCHAT_CLIENT_HANDSHAKE_RTO=500ms", "UDPCHAT_CLIENT_HANDSHAKE_RETRIES=2"}
	p := startPane(t, env, "--nick", "alice", "--known-servers", known(t), "--state-dir", t.TempDir(),
		"--log-file", filepath.Join(t.TempDir(), "client.log"), addr)
	p.waitFor("connecting to " + addr + " (attempt 2 of 3) | alice")
	p.waitForText("connection failed: no answer from server " + addr + " after 3 KEY_REQs over 3.5s (protocol 2 or 1, codec json, suite rsa-aes-cbc-hmac): " +
		"likely the server is down or a firewall drops UDP, or it speaks another codec than json, or lacks suite rsa-aes-cbc-hmac; trying again in 1s (/quit to leave)")
}

// TestScreenshot: a three-client conversation as the terminal shows it,
// in the lobby, which alice comes back to from #go while bob talks to her
// there. With -update-screenshot it writes docs/screenshot.txt, which the
// README shows.
func TestScreenshot(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	bob := room.JoinWith(func(cfg *client.Config) { cfg.Nick = "bob" })
	p := startPane(t, nil, clientArgs(t, room, "alice")...)
	p.waitFor("connected")
	carol := room.JoinWith(func(cfg *client.Config) { cfg.Nick = "carol" })
	p.waitFor("carol joined")

	// Each turn is a line bob or carol says, or alice types (by nil), or
	// keys alice presses, and what the pane shows once it is through.
	var screen string
	for _, turn := range []struct {
		by                *chattest.Client
		line, keys, shows string
	}{
		{by: bob, line: "morning! anyone tried the new v2 handshake?", shows: "anyone tried"},
		{line: "yes: the server key is pinned now, like ssh", shows: "like ssh ✓"},
		{by: carol, line: "/me waves from the train 🚆", shows: "waves from the train"},
		{by: carol, line: "/msg alice lunch at 1?", shows: "lunch at 1?"},
		{line: "/msg carol sure", shows: "sure ✓"},
		{by: bob, line: "roaming works too: my laptop changed networks mid-sentence", shows: "mid-sentence"},
		{line: "/join #go", shows: "you joined #go"},
		{by: bob, line: "/join #go", shows: "bob joined #go"},
		{line: "the 1.26 release notes are out", shows: "release notes are out ✓"},
		{keys: "M-Left", shows: "[#lobby] #go"},
		{by: bob, line: "alice: reading them now, the GC part looks good", shows: "#go+1!"},
	} {
		switch {
		case turn.keys != "":
			p.press(turn.keys)
		case turn.by == nil:
			p.typeLine(turn.line)
		default:
			turn.by.WaitDelivered(turn.by.Say(turn.line))
		}
		screen = p.waitFor(turn.shows)
	}
	for _, hidden := range []string{"release notes", "reading them now"} {
		if strings.Contains(screen, hidden) {
			t.Errorf("the lobby shows #go's %q:\n%s", hidden, screen)
		}
	}

	if *updateScreenshot {
		shot := strings.TrimLeft(strings.TrimRight(screen, "\n"), "\n") + "\n"
		if err := os.WriteFile("../../docs/screenshot.txt", []byte(shot), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
