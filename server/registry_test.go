package server_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/server"
)

// TestRegistrationsStore: registrations survive a reopen, are bounded per
// key, and are refused to another key; unregistering is the owner's.
func TestRegistrationsStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), server.RegistrationsFile)
	regs, err := server.OpenRegistrations(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a store with nothing registered wrote its file: %v", err)
	}
	a := newKey(t).Public().(ed25519.PublicKey)
	b := newKey(t).Public().(ed25519.PublicKey)
	now := time.Unix(1764331200, 0)
	for i := range server.MaxNamesPerKey {
		if err := regs.Register(fmt.Sprintf("a%d", i), a, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name string
		key  ed25519.PublicKey
		want error
	}{
		{"a0", a, nil}, // again, to its own key: nothing changes
		{"A0", b, server.ErrRegisteredToAnother},
		{"a9", a, server.ErrTooManyNames},
		{"b0", b, nil},
	} {
		if err := regs.Register(tt.name, tt.key, now); !errors.Is(err, tt.want) {
			t.Errorf("Register(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := regs.Unregister("b0", a); !errors.Is(err, server.ErrRegisteredToAnother) {
		t.Errorf("Unregister by another key = %v", err)
	}
	if err := regs.Unregister("nobody", a); !errors.Is(err, server.ErrNotRegistered) {
		t.Errorf("Unregister of nobody = %v", err)
	}
	if err := regs.Unregister("a3", a); err != nil {
		t.Fatal(err)
	}

	again, err := server.OpenRegistrations(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.Len() != server.MaxNamesPerKey || !again.Owner("A1").Equal(a) || !again.Owner("b0").Equal(b) || again.Owner("a3") != nil {
		t.Errorf("reopened: %d registrations, a1 %x, b0 %x, a3 %x", again.Len(), again.Owner("a1"), again.Owner("b0"), again.Owner("a3"))
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Errorf("the data directory holds %d entries (%v), want the store alone: no temporary files left", len(entries), err)
	}
}

// TestRegistrationsCorrupt: a store that is not one is a startup error that
// names the file, on one line.
func TestRegistrationsCorrupt(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, ed25519.PublicKeySize))
	entry := func(name, key string) string {
		return fmt.Sprintf(`{"name": %q, "key": %q, "since": "2026-01-01T00:00:00Z"}`, name, key)
	}
	file := func(entries ...string) string {
		return `{"version": 1, "nicknames": [` + strings.Join(entries, ", ") + `]}`
	}
	five := make([]string, server.MaxNamesPerKey+1)
	for i := range five {
		five[i] = entry(fmt.Sprintf("n%d", i), key)
	}
	for _, tt := range []struct{ name, data, want string }{
		{"empty", "", "not a nickname registrations file"},
		{"not JSON", "alice SHA256:xyz", "not a nickname registrations file"},
		{"two objects", file() + file(), "more after its object"},
		{"another version", `{"version": 2, "nicknames": []}`, "version 2, want 1"},
		{"unknown field", `{"version": 1, "nicknames": [], "owner": "x"}`, "unknown field"},
		{"bad name", file(entry("not a nick", key)), "registration 0"},
		{"control character", file(`{"name": "a\u0007b", "key": "` + key + `"}`), "registration 0"},
		{"short key", file(entry("alice", "AAAA")), "a key of 3 bytes, want 32"},
		{"key not base64", file(entry("alice", "!!")), "not a nickname registrations file"},
		{"twice", file(entry("alice", key), entry("ALICE", key)), "ALICE is registered twice"},
		{"too many for a key", file(five...), "its key has more than 4 names"},
		{"too large", strings.Repeat(" ", server.MaxRegistrations*256+2048), "larger than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), server.RegistrationsFile)
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := server.OpenRegistrations(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("OpenRegistrations = %v, want one line naming %s and saying %q", err, path, tt.want)
			}
		})
	}
}

// FuzzRegistrations: whatever the file holds, OpenRegistrations refuses it
// or keeps registrations within the bounds, each a valid nickname and key.
func FuzzRegistrations(f *testing.F) {
	key := base64.StdEncoding.EncodeToString(make([]byte, ed25519.PublicKeySize))
	f.Add([]byte(`{"version": 1, "nicknames": [{"name": "alice", "key": "` + key + `", "since": "2026-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"version": 1, "nicknames": []}`))
	f.Add([]byte(`{"version": 1, "nicknames": null}`))
	f.Add([]byte(`{"version": 1, "nicknames": [{"name": "", "key": ""}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), server.RegistrationsFile)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		regs, err := server.OpenRegistrations(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if regs.Len() > server.MaxRegistrations {
			t.Fatalf("%d registrations kept", regs.Len())
		}
	})
}
