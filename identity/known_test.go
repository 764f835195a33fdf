package identity_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/identity"
)

func newPub(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func line(server string, pub ed25519.PublicKey) string {
	return server + " ed25519 " + base64.StdEncoding.EncodeToString(pub)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestKnownServersFirstUseThenKnown(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config", "udpchat") // missing dirs
	k := identity.KnownServers{Path: filepath.Join(cfg, "known_servers")}
	pub := rfcKey(t).Public().(ed25519.PublicKey)
	const server = "chat.example.org:9000"

	if _, ok, err := k.Lookup(server); ok || err != nil {
		t.Fatalf("Lookup before the file exists: ok=%v err=%v", ok, err)
	}
	pin, err := k.Check(server, pub, false)
	if err != nil || pin != identity.PinNew {
		t.Fatalf("first Check = %v, %v; want PinNew", pin, err)
	}
	if runtime.GOOS != "windows" {
		if got := perm(t, k.Path); got != 0o600 {
			t.Errorf("file mode %#o, want 0600", got)
		}
		if got := perm(t, cfg); got != 0o700 {
			t.Errorf("dir mode %#o, want 0700", got)
		}
	}
	data := readFile(t, k.Path)
	if !strings.Contains(data, "\nchat.example.org:9000 ed25519 "+rfcPubBase64+"\n") {
		t.Errorf("file does not pin the key as documented:\n%s", data)
	}

	for i := range 2 {
		pin, err := k.Check(server, pub, i == 1)
		if err != nil || pin != identity.PinKnown {
			t.Errorf("Check %d = %v, %v; want PinKnown", i, pin, err)
		}
	}
	if got := readFile(t, k.Path); got != data {
		t.Errorf("known key rewrote the file:\n%s", got)
	}

	got, ok, err := k.Lookup(server)
	if err != nil || !ok || !got.Equal(pub) {
		t.Errorf("Lookup = %x, %v, %v; want the pinned key", got, ok, err)
	}
	if _, ok, err := k.Lookup("chat.example.org:9001"); ok || err != nil {
		t.Errorf("Lookup of another port: ok=%v err=%v, want not found", ok, err)
	}

	// A second server is appended; the first stays.
	pub2 := newPub(t)
	if pin, err := k.Check("[::1]:9000", pub2, false); err != nil || pin != identity.PinNew {
		t.Fatalf("second server: %v, %v; want PinNew", pin, err)
	}
	if got := readFile(t, k.Path); got != data+line("[::1]:9000", pub2)+"\n" {
		t.Errorf("append changed earlier content:\n%s", got)
	}
}

func TestKnownServersMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_servers")
	k := identity.KnownServers{Path: path}
	known, presented := newPub(t), newPub(t)
	const server = "10.0.0.1:4000"
	if _, err := k.Check(server, known, false); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, path)

	pin, err := k.Check(server, presented, false)
	var mm *identity.KeyMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("Check = %v, %v; want a *KeyMismatchError", pin, err)
	}
	if mm.Server != server || mm.Path != path || !mm.Known.Equal(known) || !mm.Presented.Equal(presented) {
		t.Errorf("error fields: %+v", mm)
	}
	msg := err.Error()
	for _, want := range []string{server, identity.Fingerprint(known), identity.Fingerprint(presented), path, "--accept-new-key"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is not one line: %q", msg)
	}
	if got := readFile(t, path); got != before {
		t.Errorf("refused key changed the file:\n%s", got)
	}
	if got, _, _ := k.Lookup(server); !got.Equal(known) {
		t.Error("Lookup no longer gives the pinned key")
	}
}

func TestKnownServersAcceptNewReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_servers")
	k := identity.KnownServers{Path: path}
	a, b, old, c, fresh := newPub(t), newPub(t), newPub(t), newPub(t), newPub(t)
	head := "# my servers\n\n" + line("a.example:1", a) + "\n" +
		"  # indented comment\n" + line("b.example:2", b) + "\n"
	tail := "\n# trailing comment\n" + line("c.example:3", c) + "\n"
	writeFile(t, path, head+line("target:7", old)+tail)

	pin, err := k.Check("target:7", fresh, true)
	if err != nil || pin != identity.PinReplaced {
		t.Fatalf("Check = %v, %v; want PinReplaced", pin, err)
	}
	if got, want := readFile(t, path), head+line("target:7", fresh)+tail; got != want {
		t.Errorf("file after replace:\n%s\nwant:\n%s", got, want)
	}
	if runtime.GOOS != "windows" {
		if got := perm(t, path); got != 0o600 {
			t.Errorf("file mode %#o after replace, want 0600", got)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after replace, want 1 (no temp files left)", len(entries))
	}
	for server, want := range map[string]ed25519.PublicKey{"a.example:1": a, "b.example:2": b, "c.example:3": c, "target:7": fresh} {
		if pin, err := k.Check(server, want, false); err != nil || pin != identity.PinKnown {
			t.Errorf("%s after replace: %v, %v; want PinKnown", server, pin, err)
		}
	}
	var mm *identity.KeyMismatchError
	if _, err := k.Check("target:7", old, false); !errors.As(err, &mm) {
		t.Errorf("the old key is still accepted: %v", err)
	}
}

func TestKnownServersAppendAfterMissingNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_servers")
	k := identity.KnownServers{Path: path}
	a, b := newPub(t), newPub(t)
	writeFile(t, path, "# hand-written\r\n"+line("a:1", a)) // CRLF, no final newline
	if pin, err := k.Check("a:1", a, false); err != nil || pin != identity.PinKnown {
		t.Fatalf("CRLF line: %v, %v", pin, err)
	}
	if pin, err := k.Check("b:2", b, false); err != nil || pin != identity.PinNew {
		t.Fatalf("append: %v, %v", pin, err)
	}
	if got, want := readFile(t, path), "# hand-written\r\n"+line("a:1", a)+"\n"+line("b:2", b)+"\n"; got != want {
		t.Errorf("file:\n%q\nwant\n%q", got, want)
	}
}

func TestKnownServersMalformed(t *testing.T) {
	good := line("good:1", newPub(t))
	tests := []struct {
		name, data string
		line       int
		want       string
	}{
		{"one field", "# c\nserver:1\n", 2, "want 3 fields"},
		{"two fields", good + "\nserver:1 ed25519\n", 2, "want 3 fields"},
		{"four fields", "\n\n" + line("s:1", newPub(t)) + " extra\n", 3, "want 3 fields"},
		{"key type", "s:1 ssh-rsa " + rfcPubBase64 + "\n", 1, `"ssh-rsa"`},
		{"base64", good + "\n# x\ns:1 ed25519 not*base64\n", 3, "base64"},
		{"short key", "s:1 ed25519 " + base64.StdEncoding.EncodeToString(make([]byte, 31)) + "\n", 1, "31 bytes"},
		{"duplicate", good + "\n" + good + "\n", 2, "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "known_servers")
			writeFile(t, path, tt.data)
			k := identity.KnownServers{Path: path}
			check := func(op string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s accepted a malformed file", op)
				}
				msg := err.Error()
				for _, w := range []string{path, fmt.Sprintf("line %d:", tt.line), tt.want} {
					if !strings.Contains(msg, w) {
						t.Errorf("%s: error %q does not mention %q", op, msg, w)
					}
				}
			}
			_, err := k.Check("new:9", newPub(t), true)
			check("Check", err)
			_, _, err = k.Lookup("good:1")
			check("Lookup", err)
			if got := readFile(t, path); got != tt.data {
				t.Errorf("malformed file was changed:\n%s", got)
			}
		})
	}
}

func TestKnownServersBadArguments(t *testing.T) {
	k := identity.KnownServers{Path: filepath.Join(t.TempDir(), "known_servers")}
	pub := newPub(t)
	for _, server := range []string{"", "a b:1", "#c:1", "a\tb", "a\n:1"} {
		if _, err := k.Check(server, pub, false); err == nil {
			t.Errorf("Check(%q) accepted", server)
		}
		if _, _, err := k.Lookup(server); err == nil {
			t.Errorf("Lookup(%q) accepted", server)
		}
	}
	if _, err := k.Check("s:1", pub[:16], false); err == nil {
		t.Error("Check accepted a short key")
	}
	if _, err := os.Stat(k.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bad arguments created the file (%v)", err)
	}
	if _, err := (identity.KnownServers{}).Check("s:1", pub, false); err == nil {
		t.Error("Check with no Path accepted")
	}
}

func TestPinString(t *testing.T) {
	for pin, want := range map[identity.Pin]string{
		identity.PinKnown: "known", identity.PinNew: "new", identity.PinReplaced: "replaced", 0: "Pin(0)",
	} {
		if got := pin.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(pin), got, want)
		}
	}
}

// TestKnownServersFirstUseAtOnce: clients that meet a new server at the
// same moment record it once between them, so that the file stays one
// every later client can read.
func TestKnownServersFirstUseAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_servers")
	pub := newPub(t)
	const clients = 8
	pins := make(chan identity.Pin, clients)
	errs := make(chan error, clients)
	for range clients {
		go func() {
			// A KnownServers each, as separate processes have.
			pin, err := identity.KnownServers{Path: path}.CheckName("chat.example.org:9000", "192.0.2.7:9000", pub, false)
			pins <- pin
			errs <- err
		}()
	}
	news := 0
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if <-pins == identity.PinNew {
			news++
		}
	}
	if news != 1 || strings.Count(readFile(t, path), "\nchat.example.org:9000,") != 1 {
		t.Fatalf("%d first uses, file:\n%s\nwant one of each", news, readFile(t, path))
	}
	if _, ok, err := (identity.KnownServers{Path: path}).Lookup("chat.example.org:9000"); !ok || err != nil {
		t.Fatalf("Lookup after: ok=%v err=%v", ok, err)
	}
}
