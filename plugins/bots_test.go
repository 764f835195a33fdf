package plugins

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/plugins/internal/testplugins"
)

// system matches a notice of the server's that holds s.
func system(s string) func(core.Message) bool {
	return func(m core.Message) bool { return m.Kind == core.KindSystem && strings.Contains(m.Text, s) }
}

// privately matches a private message from name whose text matches re.
func privately(name string, re *regexp.Regexp) func(core.Message) bool {
	return func(m core.Message) bool {
		return m.Kind == core.KindPrivate && m.From == name && re.MatchString(m.Text)
	}
}

// rolled matches the dice bot's answer to who, counted n.
func rolled(who, spec, n string) *regexp.Regexp {
	return regexp.MustCompile(`^` + who + ` rolled ` + spec + `: [0-9 +=]+ \(roll #` + n + `\)$`)
}

// TestDiceBot is the example bot as a member of the room: /who lists it,
// /help lists its command, the command answers its caller only, a private
// message to it is answered by it, nobody may take its name, and its
// count, in the plugin's key-value store, outlives a restart of the
// plugin and of the server.
func TestDiceBot(t *testing.T) {
	log, logs := newTestLog(t)
	state := t.TempDir()
	cfg := Config{Name: "dice", Path: bin(t, "dice"), StateDir: state}
	r, set := startRoom(t, log, cfg)
	a, b := r.Join(), r.Join()

	a.Say("/who")
	a.WaitMessage("/who listing the bot", system("dice (bot)"))
	a.Say("/help")
	a.WaitMessage("/help listing /roll", system("/roll [NdM]: roll N dice with M sides"))

	// The command's answer goes to its caller only.
	a.Say("/roll 2d6")
	a.WaitMessage("the roll", privately("dice", rolled(a.Name(), "2d6", "1")))
	// A /msg to the bot, which the plugin gets though it did not ask for
	// private messages: its answer comes from the bot.
	a.Say("/msg dice 1d20")
	a.WaitMessage("the bot's answer", privately("dice", rolled(a.Name(), "1d20", "2")))
	a.Say("/roll 0d6")
	a.WaitMessage("the usage", privately("dice", regexp.MustCompile(`^I roll dice: /roll NdM`)))

	// Nobody takes the bot's name.
	a.Say("/nick DICE")
	a.WaitMessage("the refusal", refused(`"DICE" is the name of the bot dice`))

	// b saw none of it: a line said after it all reaches b, and nothing before it did.
	a.WaitDelivered(a.Say("done"))
	b.WaitMessage("a's line", from(a.Name(), "done"))
	never(t, b, "rolled")
	never(t, b, "I roll dice")

	// The plugin dies; restarted, it counts on.
	set.Plugins()[0].cur.Load().forceKill()
	logs.wait(1, `msg="plugin restarted"`, "plugin=dice")
	a.Say("/roll 1d6")
	a.WaitMessage("a roll after the plugin's restart", privately("dice", rolled(a.Name(), "1d6", "3")))

	// The server and its plugins stop and start again: the count is kept.
	r.Close()
	set.Close()
	r2, _ := startRoom(t, log, cfg)
	c := r2.Join()
	c.Say("/roll")
	c.WaitMessage("a roll after the server's restart", privately("dice", rolled(c.Name(), "1d6", "4")))
}

// TestPrivateOnlyIfAsked: a private message between users reaches a
// plugin's OnMessage only if its configuration says private.
func TestPrivateOnlyIfAsked(t *testing.T) {
	for _, private := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "private"}[private], func(t *testing.T) {
			t.Parallel()
			log, _ := newTestLog(t)
			path := filepath.Join(t.TempDir(), "archive.jsonl")
			r, _ := startRoom(t, log, Config{Name: "archiver", Path: bin(t, "archiver"),
				Config: map[string]string{"path": path}, Private: private, Events: []string{"message"}})
			a, b := r.Join(), r.Join()
			// b's first line confirms its session: till then, nobody can /msg it.
			b.WaitDelivered(b.Say("here"))
			a.Say("/msg " + b.Name() + " psst")
			a.Say("after")
			b.WaitMessage("the private message", from(a.Name(), "psst"))
			// The chain handles a's messages in order: once "after" is
			// archived, "psst" was, or never will be.
			got := waitArchive(t, path, archived{Kind: "chat", From: a.Name(), Text: "after"})
			seen := indexOf(got, func(l archived) bool { return l.Text == "psst" }) >= 0
			if seen != private {
				t.Errorf("private: %v, but the plugin saw the private message: %v (%v)", private, seen, got)
			}
		})
	}
}

// TestBotCommandFailures: a plugin that hangs, panics or exits on its
// command costs its caller a notice that it failed, and nothing else: the
// room goes on, and so does the plugin, restarted if it died.
func TestBotCommandFailures(t *testing.T) {
	cases := []struct {
		plugin, command string
		dies            bool
	}{
		{"sleep", "sleep", false},
		{"panic", "panic", true},
		{"exit", "exit", true},
	}
	for _, tc := range cases {
		t.Run(tc.plugin, func(t *testing.T) {
			t.Parallel()
			log, logs := newTestLog(t)
			r, _ := startRoom(t, log, Config{Name: tc.plugin, Path: bin(t, tc.plugin), Timeout: faultTimeout,
				Config: map[string]string{"commands": tc.command + ",hello", "bots": "robo"}})
			a, b := r.Join(), r.Join()
			a.Say("/" + tc.command)
			a.WaitMessage("the failure", refused("/"+tc.command+" failed: "+tc.plugin+" is not answering; try again later"))
			a.Say("still here")
			b.WaitMessage("a's next line", from(a.Name(), "still here"))
			// The plugin answers again, once restarted if it died.
			if tc.dies {
				logs.wait(1, `msg="plugin restarted"`, "plugin="+tc.plugin)
			}
			pong := regexp.MustCompile(`^` + testplugins.Pong + ` ` + a.Name() + ` x$`)
			a.Say("/hello x")
			a.WaitMessage("the answer to /hello", privately(tc.plugin, pong))
			a.Say("/msg robo hi")
			a.WaitMessage("the bot's answer", privately("robo", regexp.MustCompile(`^`+testplugins.Pong+` hi$`)))
		})
	}
}
