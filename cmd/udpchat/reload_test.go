package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/udpchat/udpchat/internal/testkit"
)

// reloadConfig is a server configuration for TestReload: listening on
// 127.0.0.1, with the message of the day and the plugins given (YAML).
func reloadConfig(dataDir, motd, plugins string) string {
	return "server:\n  listen: 127.0.0.1:0\n  data_dir: " + dataDir + "\n  motd: " + motd + "\n" +
		"plugins:" + plugins + "\n"
}

// filterPlugin is the example filter, dropping lines with "secret", at
// ./filter beside the configuration file.
const filterPlugin = `
  - name: filter
    path: ./filter
    config:
      words: secret
      mode: drop`

// TestReload: the real server reloads its configuration on SIGHUP and on
// the admin socket's "reload". A plugin added to the file is started and
// used at once; the message of the day changes for whoever connects next;
// a broken file is refused with one line in the log, and the server keeps
// the plugin it had; a plugin removed from the file is stopped and no
// longer used. The clients stay connected throughout.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	cfgFile := filepath.Join(dir, "server.yaml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(cfgFile, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(testkit.Build(t, "../../plugins/examples/filter"), filepath.Join(dir, "filter")); err != nil {
		t.Fatal(err)
	}
	write(reloadConfig(dataDir, "before", " []"))
	// Started elsewhere: the plugin's path is the file's, not the server's.
	srv := testkit.StartWith(t, testkit.Options{}, serverBinary(t), "--config", cfgFile)
	server := srv.WaitLog(t, regexp.MustCompile(`"server ready" addr=(127\.0\.0\.1:[1-9]\d*)`))[1]
	knownServers := known(t)
	alice := startPlain(t, server, "alice", knownServers, t.TempDir())
	bob := startPlain(t, server, "bob", knownServers, t.TempDir())
	connectedAs(t, alice, server)
	connectedAs(t, bob, server)
	alice.say(t, "one secret")
	bob.waitShown(t, "<alice> one secret")

	// SIGHUP with a plugin added, and another message of the day.
	write(reloadConfig(dataDir, "after", filterPlugin))
	mark := srv.Mark()
	srv.Signal(t, syscall.SIGHUP)
	srv.WaitLogSince(t, mark, regexp.MustCompile(`"configuration reloaded" changed="\[server.motd plugins\]" plugins_started=\[filter\] plugins_stopped=\[\] bans=0$`))
	alice.say(t, "two secret")
	alice.WaitLog(t, regexp.MustCompile(`^udpchat: refused: two secret: message contains a filtered word$`))
	alice.say(t, "three")
	bob.waitShown(t, "<alice> three")
	carol := startPlain(t, server, "carol", knownServers, t.TempDir())
	carol.WaitLog(t, regexp.MustCompile(`^udpchat: server: after$`))

	// A broken file: refused in one line, the filter kept.
	write("server: [\n")
	mark = srv.Mark()
	srv.Signal(t, syscall.SIGHUP)
	refused := srv.WaitLogSince(t, mark, regexp.MustCompile(`"reload refused: the server keeps its configuration" err=(.*)`))
	if !strings.Contains(refused[1], cfgFile) {
		t.Errorf("the refusal %q does not name the file %s", refused[1], cfgFile)
	}
	alice.say(t, "four secret")
	alice.WaitLog(t, regexp.MustCompile(`^udpchat: refused: four secret: message contains a filtered word$`))
	if _, errOut, code := admin(t, dataDir, "reload"); code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "reload refused: ") {
		t.Errorf("admin reload of a broken file: exit %d, stderr %q; want 1 and one line", code, errOut)
	}

	// The plugin taken out again, through the admin socket.
	write(reloadConfig(dataDir, "after", " []"))
	out, _, code := admin(t, dataDir, "reload")
	if code != 0 || out != "reloaded: changed plugins; plugins started none, stopped filter; 0 bans\n" {
		t.Fatalf("admin reload: exit %d, %q", code, out)
	}
	srv.WaitLog(t, regexp.MustCompile(`msg="plugin stopped" plugin=filter`))
	alice.say(t, "five secret")
	bob.waitShown(t, "<alice> five secret")
	for _, c := range []plainClient{alice, bob} {
		if strings.Contains(c.Log(), "disconnected") || strings.Contains(c.Log(), "reconnect") {
			t.Errorf("a client was cut off by a reload:\n%s", c.Log())
		}
	}
	if got := strings.Count(bob.Stdout.String(), "secret"); got != 2 {
		t.Errorf("bob was shown %d lines with the filtered word, want 2 (one and five):\n%s", got, bob.Stdout.String())
	}
}
