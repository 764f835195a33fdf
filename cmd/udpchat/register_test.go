package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/udpchat/udpchat/internal/testkit"
)

// startKeyed is startPlain for a client whose identity key is in dataDir.
func startKeyed(t *testing.T, server, nick, knownServers, dataDir string) plainClient {
	t.Helper()
	out := &testkit.Buffer{}
	p := testkit.StartWith(t, testkit.Options{Input: true, Stdout: out}, clientBinary(t),
		"--plain", "--nick", nick, "--known-servers", knownServers, "--state-dir", t.TempDir(),
		"--data-dir", dataDir, "--log-file", "-", server)
	return plainClient{p, out}
}

// TestRegisteredNicknameBinaries: with the real programs, the first client
// to take a nickname registers it to the key it created on first use; a
// client with another key is refused it; and the owner, killed and started
// again without a ticket, from a new address, gets it back at once from
// the ghost of its old session.
func TestRegisteredNicknameBinaries(t *testing.T) {
	_, server := realServer(t, time.Minute, "auto")
	knownServers := known(t)
	ownerDir := t.TempDir()
	alice := startKeyed(t, server, "alice", knownServers, ownerDir)
	if nick := connectedAs(t, alice, server); nick != "alice" {
		t.Fatalf("alice connected as %q", nick)
	}
	alice.WaitLog(t, regexp.MustCompile(`created a new client identity key`))
	// Registered by the time her own line is acknowledged: she is
	// confirmed before it is handled.
	alice.say(t, "/whois alice")
	alice.WaitLog(t, regexp.MustCompile(`^udpchat: server: alice: key \S+ \(nickname registered to it\), idle \S+, protocol 2`))

	mallory := startKeyed(t, server, "alice", knownServers, t.TempDir())
	if nick := connectedAs(t, mallory, server); nick == "alice" {
		t.Fatal("a client with another key was given the registered nickname")
	}
	mallory.WaitLog(t, regexp.MustCompile(`^udpchat: server: nickname "alice" is registered to another key`))

	alice.Kill(t) // its session stays, a ghost holding the name
	again := startKeyed(t, server, "alice", knownServers, ownerDir)
	if nick := connectedAs(t, again, server); nick != "alice" {
		t.Fatalf("the owner started again was given %q; its log:\n%s", nick, again.Log())
	}
	again.say(t, "it is me")
	mallory.waitShown(t, "<alice> it is me")
}
