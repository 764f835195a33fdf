package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
)

// TestPinByName (issue 15, finding 14): connecting to localhost:PORT pins
// the key under the name the user gave, with the address it resolved to
// as a second key, as SSH's known_hosts does ("name,address"), so that a
// name whose DNS answer changes is checked against its own key, and a new
// name for a pinned address against the address's.
func TestPinByName(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	file := known(t)
	name := "localhost:" + itoa(room.Addr.Port())
	if addrs, err := net.LookupHost("localhost"); err != nil || !strings.Contains(strings.Join(addrs, " "), room.Addr.Addr().String()) {
		t.Skipf("localhost does not resolve to %s here: %v %v", room.Addr.Addr(), addrs, err)
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--plain", "--log-file", "-", "--known-servers", file, name},
		nil, strings.NewReader("hi\n"), &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "\n" + name + "," + room.Addr.String() + " ed25519 "; !strings.Contains(string(data), want) {
		t.Fatalf("known_servers:\n%s\nwant a line starting %q", data, strings.TrimSpace(want))
	}

	// The address pinned under another key (an earlier version's line):
	// a new name resolving to it is refused, not a first use.
	other := known(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte(room.Addr.String()+" ed25519 "+base64.StdEncoding.EncodeToString(pub)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	code := run(context.Background(), []string{"--plain", "--log-file", "-", "--known-servers", other, name},
		nil, strings.NewReader("hi\n"), &bytes.Buffer{}, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "the address it resolved to, "+room.Addr.String()) {
		t.Fatalf("exit %d, stderr:\n%s\nwant a refusal naming the pinned address", code, stderr.String())
	}
}
