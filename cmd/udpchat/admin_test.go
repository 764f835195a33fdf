package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/internal/testkit"
)

// admin runs `udpchat-server --data-dir dir admin words...` and returns
// its standard output, standard error and exit code.
func admin(t *testing.T, dir string, words ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(serverBinary(t), append([]string{"--data-dir", dir, "admin"}, words...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if x, ok := err.(*exec.ExitError); ok {
		code = x.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestAdminSocket: the machine's operator, with the real programs, lists
// the sessions, kicks one (its client is told why) and bans one, through
// `udpchat-server admin` and the server's socket, which only its user may
// open; bad requests get an error and exit 1, and nothing changes.
func TestAdminSocket(t *testing.T) {
	dir := t.TempDir()
	srv := testkit.StartWith(t, testkit.Options{}, serverBinary(t), "--listen", "127.0.0.1:0", "--data-dir", dir)
	server := srv.WaitLog(t, regexp.MustCompile(`"server ready" addr=(127\.0\.0\.1:[1-9]\d*)`))[1]
	sock := filepath.Join(dir, "admin.sock")
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("admin socket %s: %v, mode %v; want a socket of mode 0600", sock, err, fi.Mode())
	}
	knownServers := known(t)
	alice := startKeyed(t, server, "alice", knownServers, t.TempDir())
	bob := startKeyed(t, server, "bob", knownServers, t.TempDir())
	connectedAs(t, alice, server)
	connectedAs(t, bob, server)
	alice.say(t, "/join #ops")
	alice.WaitLog(t, regexp.MustCompile(`you joined #ops`))

	out, _, code := admin(t, dir, "sessions")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !regexp.MustCompile(`^alice\t127\.0\.0\.1:\d+\tv2\t\S{12}\tidle \S+\t#lobby,#ops$`).MatchString(lines[0]) ||
		!strings.HasPrefix(lines[1], "bob\t") {
		t.Fatalf("admin sessions: exit %d, %q", code, out)
	}

	for _, tt := range []struct{ words []string }{
		{[]string{"reboot"}},
		{[]string{"kick"}},
		{[]string{"kick", "nobody"}},
		{[]string{"ban", "ip:not-an-address"}},
		{[]string{"unban", "nick:carol"}},
	} {
		if _, errOut, code := admin(t, dir, tt.words...); code != 1 || !strings.HasPrefix(errOut, "udpchat-server admin: ") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("admin %v: exit %d, stderr %q; want exit 1 and one line", tt.words, code, errOut)
		}
	}

	if out, _, code := admin(t, dir, "kick", "bob", "for", "testing"); code != 0 || out != "kicked bob\n" {
		t.Fatalf("admin kick: exit %d, %q", code, out)
	}
	bob.WaitLog(t, regexp.MustCompile(`^udpchat: server: the server's operator kicked you: for testing`))
	alice.WaitLog(t, regexp.MustCompile(`^udpchat: server: the server's operator kicked bob: for testing`))

	if out, _, code := admin(t, dir, "ban", "nick:mallory", "10m", "no", "mallories"); code != 0 || !strings.HasPrefix(out, "banned nick:mallory until ") {
		t.Fatalf("admin ban: exit %d, %q", code, out)
	}
	if out, _, _ := admin(t, dir, "bans"); !strings.Contains(out, "nick:mallory until ") || !strings.HasSuffix(out, "by the server's operator: no mallories\n") {
		t.Errorf("admin bans: %q", out)
	}
	if out, _, code := admin(t, dir, "unban", "nick:mallory"); code != 0 || out != "lifted the ban of nick:mallory\n" {
		t.Errorf("admin unban: exit %d, %q", code, out)
	}
	if out, _, _ := admin(t, dir, "bans"); out != "" {
		t.Errorf("admin bans after the unban: %q", out)
	}
}

// TestAdminNoServer: with no server, admin says so in one line, exit 1.
func TestAdminNoServer(t *testing.T) {
	_, errOut, code := admin(t, t.TempDir(), "sessions")
	if code != 1 || !strings.HasPrefix(errOut, "udpchat-server admin: no server answers on ") {
		t.Errorf("exit %d, %q", code, errOut)
	}
}
