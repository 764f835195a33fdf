package identity_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/identity"
)

// TestCheckName (issue 15, finding 14): a server is pinned under the name
// the user gave, with its address as a second key, as SSH's known_hosts
// does. A new name for a pinned address is no first use: with the same
// key the name is added, with another key it is a mismatch naming the
// address. A file of address-only lines, as earlier versions wrote, reads.
func TestCheckName(t *testing.T) {
	k := identity.KnownServers{Path: filepath.Join(t.TempDir(), "known_servers")}
	key, other := newPub(t), newPub(t)
	const name, addr = "chat.example.org:9000", "192.0.2.7:9000"

	check := func(name, addr string, pub []byte, acceptNew bool, want identity.Pin) {
		t.Helper()
		if pin, err := k.CheckName(name, addr, pub, acceptNew); err != nil || pin != want {
			t.Fatalf("CheckName(%s, %s) = %v, %v; want %v", name, addr, pin, err, want)
		}
	}
	check(name, addr, key, false, identity.PinNew)
	if got := readFile(t, k.Path); !strings.Contains(got, "\n"+line(name+","+addr, key)+"\n") {
		t.Fatalf("file after first use:\n%s", got)
	}
	check(name, addr, key, false, identity.PinKnown)
	check(name, "198.51.100.1:9000", key, false, identity.PinKnown) // the name moved, the key did not

	// Another name, the same address: a DNS answer pointing a new name
	// here, or the same server under another name.
	_, err := k.CheckName("evil.example:9000", addr, other, false)
	var mismatch *identity.KeyMismatchError
	if !errors.As(err, &mismatch) || mismatch.Address != addr || !strings.Contains(err.Error(), addr) {
		t.Fatalf("a new name for a pinned address, with another key: %v; want a mismatch naming %s", err, addr)
	}
	check("alias.example:9000", addr, key, false, identity.PinNamed)
	if _, found, err := k.Lookup("alias.example:9000"); !found || err != nil {
		t.Fatalf("the added name is not pinned: %v %v", found, err)
	}
	// The name pinned for the wrong key: refused, then replaced on request.
	if _, err := k.CheckName(name, addr, other, false); !errors.As(err, &mismatch) || mismatch.Address != "" {
		t.Fatalf("a changed key for a pinned name: %v", err)
	}
	check(name, addr, other, true, identity.PinReplaced)
	for _, s := range []string{name, addr} {
		if got, _, _ := k.Lookup(s); !got.Equal(other) {
			t.Fatalf("%s is not pinned to the accepted key", s)
		}
	}
	if got, _, _ := k.Lookup("alias.example:9000"); !got.Equal(key) {
		t.Fatal("accepting a key for one name changed another's")
	}

	// An address-only line of an earlier version.
	old := identity.KnownServers{Path: filepath.Join(t.TempDir(), "known_servers")}
	writeFile(t, old.Path, line(addr, key)+"\n")
	if pin, err := old.CheckName(name, addr, key, false); err != nil || pin != identity.PinNamed {
		t.Fatalf("a name for an address pinned by an earlier version: %v, %v", pin, err)
	}
	if got := readFile(t, old.Path); got != line(name+","+addr, key)+"\n" {
		t.Fatalf("file after naming an old entry:\n%s", got)
	}
	if _, err := old.CheckName("x.example:1,y", "", key, false); err == nil {
		t.Fatal("a name with a comma was recorded")
	}
}
