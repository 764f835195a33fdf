package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/internal/testkit"
)

var (
	serverBuildOnce sync.Once
	serverBin       string
	serverBuildErr  error
)

// serverBinary builds the real udpchat-server once per test run, next to
// the client clientBinary built (removed by TestMain).
func serverBinary(t *testing.T) string {
	t.Helper()
	client := clientBinary(t)
	serverBuildOnce.Do(func() {
		serverBin = filepath.Join(filepath.Dir(client), "udpchat-server")
		serverBuildErr = buildTo(serverBin, "../udpchat-server")
	})
	if serverBuildErr != nil {
		t.Fatalf("go build udpchat-server: %v", serverBuildErr)
	}
	return serverBin
}

// realServer starts the real udpchat-server on 127.0.0.1, with a ghost
// session's nickname held for idle (server.idle_timeout), registering
// nicknames as register says (server.register), and returns its address
// once it is ready.
func realServer(t *testing.T, idle time.Duration, register string) (*testkit.Process, string) {
	t.Helper()
	p := testkit.StartWith(t, testkit.Options{Env: []string{"UDPCHAT_SERVER_IDLE_TIMEOUT=" + idle.String(), "UDPCHAT_SERVER_REGISTER=" + register}},
		serverBinary(t), "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	m := p.WaitLog(t, regexp.MustCompile(`"server ready" addr=(127\.0\.0\.1:[1-9]\d*)`))
	return p, m[1]
}

// plainClient is the real udpchat in plain mode, reading a standard input
// that stays open (Input), with its log and what it is told on standard
// error (Log) and the room's messages on standard output (Stdout).
type plainClient struct {
	*testkit.Process
	Stdout *testkit.Buffer
}

// startPlain starts a plainClient with the known_servers file and state
// directory given.
func startPlain(t *testing.T, server, nick, knownServers, stateDir string) plainClient {
	t.Helper()
	out := &testkit.Buffer{}
	p := testkit.StartWith(t, testkit.Options{Input: true, Stdout: out}, clientBinary(t),
		"--plain", "--nick", nick, "--known-servers", knownServers, "--state-dir", stateDir, "--log-file", "-", server)
	return plainClient{p, out}
}

// say writes a line to the client's input, which it sends.
func (c plainClient) say(t *testing.T, line string) {
	t.Helper()
	if _, err := fmt.Fprintln(c.Input, line); err != nil {
		t.Fatal(err)
	}
}

// waitShown waits until the client has printed line on standard output.
func (c plainClient) waitShown(t *testing.T, line string) {
	t.Helper()
	testkit.Wait{Got: c.Stdout.String}.Until(t, fmt.Sprintf("the client to print %q", line), func() bool {
		return slices.Contains(strings.Split(c.Stdout.String(), "\n"), line)
	})
}

// told returns the lines the server told the client (its notices, on
// standard error) that mention name.
func (c plainClient) told(name string) []string {
	var out []string
	for l := range strings.Lines(c.Log()) {
		if strings.HasPrefix(l, "udpchat: server: ") && strings.Contains(l, name) {
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
	}
	return out
}

// waitTicket waits until dir holds a ticket file, written whole (renamed
// into place) as soon as the session message brought a token.
func waitTicket(t *testing.T, dir string) {
	t.Helper()
	testkit.WaitUntil(t, "a ticket file in "+dir, func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "ticket-*.json"))
		return len(m) > 0
	})
}

// connectedAs waits until the client says it is connected, and returns the
// nickname the server gave it.
func connectedAs(t *testing.T, p plainClient, server string) string {
	t.Helper()
	return p.WaitLog(t, regexp.MustCompile(`^udpchat: connected `+regexp.QuoteMeta(server)+` \(protocol 2, .*, as (\S+), server key`))[1]
}

// TestKilledClientResumes: a client killed with SIGKILL and started again
// with the same nickname and state directory gets its nickname back at
// once, though the server (idle timeout 60 s) still holds the killed one's
// session: the ticket on file resumes it, and the server replaces the
// ghost, from the new process's address, without a word to the room. The
// same restart with an empty state directory is told the nickname is
// taken, which shows the test can fail.
func TestKilledClientResumes(t *testing.T) {
	const idle = 60 * time.Second
	// Nothing registered: every client here has the tests' one key, and
	// a registered name would be given back to it without a ticket,
	// which the control below must not be.
	_, server := realServer(t, idle, "command")
	knownServers := known(t)
	bob := startPlain(t, server, "bob", knownServers, t.TempDir())
	if nick := connectedAs(t, bob, server); nick != "bob" {
		t.Fatalf("bob connected as %q", nick)
	}
	carol := startPlain(t, server, "carol", knownServers, t.TempDir())
	connectedAs(t, carol, server)

	state := t.TempDir()
	alice := startPlain(t, server, "alice", knownServers, state)
	if nick := connectedAs(t, alice, server); nick != "alice" {
		t.Fatalf("alice connected as %q", nick)
	}
	alice.say(t, "before the crash")
	bob.waitShown(t, "<alice> before the crash")
	waitTicket(t, state)
	alice.Kill(t)
	bob.say(t, "said while alice was dead")
	carol.waitShown(t, "<bob> said while alice was dead") // in the room's log before alice is back

	start := time.Now()
	again := startPlain(t, server, "alice", knownServers, state)
	nick := connectedAs(t, again, server)
	took := time.Since(start)
	if nick != "alice" {
		t.Fatalf("started again, the client is %q, not alice; its log:\n%s", nick, again.Log())
	}
	if took > idle/4 {
		t.Fatalf("alice back after %v: not at once, but as late as a ghost's timeout (%v) would let her", took, idle)
	}
	if log := again.Log(); strings.Contains(log, "is taken") || !strings.Contains(log, "resuming the session on file") {
		t.Fatalf("the restarted client did not resume quietly; its log:\n%s", log)
	}
	// What alice says now reaches bob after anything the server said of
	// her return, which must be nothing: the ghost it replaced had her
	// name.
	again.say(t, "back again")
	bob.waitShown(t, "<alice> back again")
	if told := bob.told("alice"); len(told) != 1 || told[0] != "udpchat: server: alice joined" {
		t.Fatalf("bob was told %q about alice, want her first join alone", told)
	}
	// What bob says now reaches alice after all the room replayed to her,
	// which must be what she missed alone, once: she was shown nothing
	// before the crash, and what came before she joined (bob's join) is
	// not hers to see.
	bob.say(t, "welcome back")
	again.waitShown(t, "<bob> welcome back")
	if told, shown := again.told(""), again.Stdout.String(); len(told) != 0 || shown != "<bob> said while alice was dead\n<bob> welcome back\n" {
		t.Fatalf("the resumed client was told %q and shown %q; want bob's line from while she was dead, then his welcome", told, shown)
	}

	// The control: the same crash and restart without the ticket (another,
	// empty, state directory) finds the ghost holding the name.
	again.Kill(t)
	fresh := startPlain(t, server, "alice", knownServers, t.TempDir())
	if nick := connectedAs(t, fresh, server); nick == "alice" {
		t.Fatalf("without a ticket the restarted client is alice again: no ghost held the name, so the resume above showed nothing; its log:\n%s", fresh.Log())
	}
	fresh.WaitLog(t, regexp.MustCompile(`^udpchat: server: nickname "alice" is taken`))
}

// buildTo builds the main package pkg into bin.
func buildTo(bin, pkg string) error {
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}
