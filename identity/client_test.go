package identity_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/identity"
)

// TestLoadOrCreateClient: a client's key is kept as the server's is, in a
// file of its own, so that a server and a client sharing a data directory
// do not share a key.
func TestLoadOrCreateClient(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "udpchat")
	key, created, err := identity.LoadOrCreateClient(dir)
	if err != nil || !created {
		t.Fatalf("first use: created %v, err %v", created, err)
	}
	path := filepath.Join(dir, identity.ClientKeyFile)
	if runtime.GOOS != "windows" && perm(t, path) != 0o600 {
		t.Errorf("client key mode %#o, want 0600", perm(t, path))
	}
	again, created, err := identity.LoadOrCreateClient(dir)
	if err != nil || created || !key.Equal(again) {
		t.Fatalf("second use: created %v, err %v, same key %v", created, err, key.Equal(again))
	}
	server, _, err := identity.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if server.Equal(key) {
		t.Error("the server's key in the same directory is the client's")
	}
	if runtime.GOOS == "windows" {
		return
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = identity.LoadOrCreateClient(dir)
	if err == nil || !strings.Contains(err.Error(), "client identity key") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a client key others may read: err = %v, want one naming the client key and the chmod", err)
	}
}

func helloTranscript(client ed25519.PublicKey) identity.Transcript {
	return identity.Transcript{
		Hello:     []byte("ephemeral share"),
		Suites:    []string{"x25519-chacha20poly1305"},
		Nick:      "alice",
		ClientKey: client,
	}
}

// TestHelloSignVerify: a client proves its key over its half of the
// handshake; any change to that half, another key, or a signature made
// for another purpose is refused.
func TestHelloSignVerify(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, otherPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	base := helloTranscript(pub)
	sig := identity.SignHello(priv, base)
	if err := identity.VerifyHello(base, sig); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*identity.Transcript)
		sig    []byte
	}{
		{"hello", func(t *identity.Transcript) { t.Hello = []byte("another share") }, sig},
		{"suites", func(t *identity.Transcript) { t.Suites = nil }, sig},
		{"nick", func(t *identity.Transcript) { t.Nick = "mallory" }, sig},
		{"key claimed without its private half", func(t *identity.Transcript) { t.ClientKey = otherPub }, sig},
		{"no key", func(t *identity.Transcript) { t.ClientKey = nil }, sig},
		{"short key", func(t *identity.Transcript) { t.ClientKey = pub[:16] }, sig},
		{"short signature", func(*identity.Transcript) {}, sig[:63]},
		{"no signature", func(*identity.Transcript) {}, nil},
		{"signed by another key", func(*identity.Transcript) {}, identity.SignHello(otherPriv, base)},
		// A server's signature over the full handshake by the same key
		// is no proof of the hello: the contexts differ.
		{"a handshake signature", func(*identity.Transcript) {}, identity.Sign(priv, base)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := clone(base)
			tt.mutate(&m)
			if err := identity.VerifyHello(m, tt.sig); !errors.Is(err, identity.ErrBadClientSignature) {
				t.Errorf("VerifyHello = %v, want ErrBadClientSignature", err)
			}
		})
	}
	// SignHello signs for its own key, whatever the transcript claims.
	m := clone(base)
	m.ClientKey = otherPub
	if err := identity.VerifyHello(base, identity.SignHello(priv, m)); err != nil {
		t.Errorf("SignHello did not sign for its own key: %v", err)
	}
}

// TestTranscriptClientKey: the server's transcript names the client's key
// after its own, and only when there is one, so that a client without a
// key verifies the same bytes as before clients had keys.
func TestTranscriptClientKey(t *testing.T) {
	without := identity.HandshakeTranscript(identity.Transcript{ServerKey: ed25519.PublicKey{0xdd}})
	with := identity.HandshakeTranscript(identity.Transcript{ServerKey: ed25519.PublicKey{0xdd}, ClientKey: ed25519.PublicKey{0xee, 0xff}})
	if want := append(bytes.Clone(without), 0, 0, 0, 2, 0xee, 0xff); !bytes.Equal(with, want) {
		t.Errorf("with a client key\n got %x\nwant %x", with, want)
	}
	// The hello transcript pins its layout too.
	got := identity.HelloTranscript(identity.Transcript{Hello: []byte{0xaa}, Suites: []string{"s"}, Nick: "n", ClientKey: ed25519.PublicKey{0xee}})
	var want []byte
	want = append(want, "udpchat v2 client hello\x00"...)
	want = append(want, 0, 0, 0, 1, 0xaa, 0, 0, 0, 1, 0, 0, 0, 1, 's', 0, 0, 0, 1, 'n', 0, 0, 0, 1, 0xee)
	if !bytes.Equal(got, want) {
		t.Errorf("hello transcript\n got %x\nwant %x", got, want)
	}
}

func TestCheckFingerprint(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := identity.Fingerprint(pub)
	tests := []struct {
		name, fp string
		ok       bool
	}{
		{"as Fingerprint writes it", good, true},
		{"no prefix", strings.TrimPrefix(good, "SHA256:"), false},
		{"short form", identity.ShortFingerprint(pub), false},
		{"truncated", good[:len(good)-1], false},
		{"padded", good + "=", false},
		{"not base64", "SHA256:" + strings.Repeat("!", 43), false},
		{"lower-case prefix", "sha256:" + good[7:], false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		if err := identity.CheckFingerprint(tt.fp); (err == nil) != tt.ok {
			t.Errorf("%s: CheckFingerprint(%q) = %v, want ok %v", tt.name, tt.fp, err, tt.ok)
		}
	}
}
