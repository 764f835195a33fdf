package client_test

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/identity"
)

// TestPinning: the first connection pins the server's key; a server on the
// same address with another key is refused, naming both fingerprints; the
// accept-new-key option takes the new key.
func TestPinning(t *testing.T) {
	file := identity.KnownServers{Path: filepath.Join(t.TempDir(), "known_servers")}
	first := chattest.Start(t, chattest.Options{})
	addr := first.Addr
	var told []string
	pins := &identity.Pins{File: file, Notify: func(s string) { told = append(told, s) }}
	c := first.JoinWith(func(cfg *client.Config) { cfg.Servers = pins })
	oldKey := first.Identity.Public().(ed25519.PublicKey)
	if got, found, err := file.Lookup(addr.String()); err != nil || !found || !got.Equal(oldKey) {
		t.Fatalf("after the first connection the file pins %v (found %v, %v)", got, found, err)
	}
	if len(told) != 1 || !strings.Contains(told[0], identity.Fingerprint(oldKey)) {
		t.Fatalf("the user was told %q", told)
	}
	c.Stop()
	first.Close()

	second := chattest.Start(t, chattest.Options{Addr: addr})
	newKey := second.Identity.Public().(ed25519.PublicKey)
	refused := second.Dial(func(cfg *client.Config) { cfg.Servers = pins })
	err := refused.RunErr()
	var mismatch *identity.KeyMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("connecting to a server with a new key: %v, want a key mismatch", err)
	}
	for _, want := range []string{identity.Fingerprint(oldKey), identity.Fingerprint(newKey), "--accept-new-key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not name %q", err, want)
		}
	}

	accepting := &identity.Pins{File: file, AcceptNew: true}
	second.JoinWith(func(cfg *client.Config) { cfg.Servers = accepting })
	if got, _, _ := file.Lookup(addr.String()); !got.Equal(newKey) {
		t.Fatal("accept-new-key did not pin the new key")
	}
	if _, err := os.Stat(file.Path); err != nil {
		t.Fatal(err)
	}
}
