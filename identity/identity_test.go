package identity_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/identity"
)

// RFC 8032, section 7.1, TEST 1.
const (
	rfcSeedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	rfcPubHex  = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	// Computed independently: SHA-256 of the 32 public key bytes, base64
	// without padding (python3 hashlib + base64).
	rfcFingerprint = "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk"
	rfcPubBase64   = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
)

func rfcKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	seed, err := hex.DecodeString(rfcSeedHex)
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "udpchat") // parents missing too
	key, created, err := identity.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Error("first call: created = false, want true")
	}
	if len(key) != ed25519.PrivateKeySize {
		t.Fatalf("key is %d bytes", len(key))
	}
	path := filepath.Join(dir, identity.KeyFile)
	if runtime.GOOS != "windows" {
		if got := perm(t, path); got != 0o600 {
			t.Errorf("key file mode %#o, want 0600", got)
		}
		if got := perm(t, dir); got != 0o700 {
			t.Errorf("data dir mode %#o, want 0700", got)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only the key (no temp files left)", len(entries))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if block, _ := pem.Decode(data); block == nil || block.Type != "PRIVATE KEY" {
		t.Errorf("key file is not a PEM PRIVATE KEY:\n%s", data)
	}

	for i := range 2 {
		again, created, err := identity.LoadOrCreate(dir)
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		if created {
			t.Errorf("load %d: created = true, want false", i)
		}
		if !key.Equal(again) {
			t.Errorf("load %d: got another key", i)
		}
	}
}

func TestLoadOrCreateDistinctKeys(t *testing.T) {
	a, _, err := identity.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := identity.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if a.Equal(b) {
		t.Error("two new identities share a key")
	}
}

func pemBytes(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestLoadOrCreateRefuses(t *testing.T) {
	good := pemBytes("PRIVATE KEY", pkcs8(t, rfcKey(t)))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSEC1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		data     []byte
		mode     fs.FileMode
		unixOnly bool
		want     []string // in the error, besides the path
	}{
		{name: "group readable", data: good, mode: 0o640, unixOnly: true, want: []string{"group or others", "chmod 600"}},
		{name: "world readable", data: good, mode: 0o644, unixOnly: true, want: []string{"chmod 600"}},
		{name: "others readable", data: good, mode: 0o604, unixOnly: true, want: []string{"chmod 600"}},
		{name: "group writable", data: good, mode: 0o620, unixOnly: true, want: []string{"chmod 600"}},
		{name: "empty", data: nil, mode: 0o600, want: []string{"not a PEM file"}},
		{name: "garbage", data: []byte("this is not a key\n\x00\xff"), mode: 0o600, want: []string{"not a PEM file"}},
		{name: "other PEM type", data: pemBytes("EC PRIVATE KEY", ecSEC1), mode: 0o600, want: []string{`"EC PRIVATE KEY"`}},
		{name: "PEM garbage", data: pemBytes("PRIVATE KEY", []byte("garbage")), mode: 0o600, want: []string{"PKCS#8"}},
		{name: "ECDSA PKCS#8", data: pemBytes("PRIVATE KEY", pkcs8(t, ec)), mode: 0o600, want: []string{"ECDSA", "want an Ed25519 key"}},
		{name: "X25519 PKCS#8", data: pemBytes("PRIVATE KEY", pkcs8(t, x)), mode: 0o600, want: []string{"X25519", "want an Ed25519 key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unixOnly && runtime.GOOS == "windows" {
				t.Skip("file modes")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, identity.KeyFile)
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			key, created, err := identity.LoadOrCreate(dir)
			if err == nil {
				t.Fatalf("accepted (created=%v, key %d bytes)", created, len(key))
			}
			msg := err.Error()
			for _, w := range append([]string{path}, tt.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(after, tt.data) {
				t.Errorf("refused key file was changed (err %v)", err)
			}
		})
	}
}

func TestLoadOrCreateNotRegular(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, identity.KeyFile)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	_, _, err := identity.LoadOrCreate(dir)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("got %v, want an error naming %s as not a regular file", err, path)
	}
}

func TestLoadOrCreateAcceptsForeignPKCS8(t *testing.T) {
	// A key made elsewhere (here: from a fixed seed, as openssl genpkey would
	// write it) loads as is.
	dir := t.TempDir()
	want := rfcKey(t)
	if err := os.WriteFile(filepath.Join(dir, identity.KeyFile), pemBytes("PRIVATE KEY", pkcs8(t, want)), 0o600); err != nil {
		t.Fatal(err)
	}
	got, created, err := identity.LoadOrCreate(dir)
	if err != nil || created || !want.Equal(got) {
		t.Fatalf("got created=%v err=%v equal=%v", created, err, want.Equal(got))
	}
}

func TestFingerprint(t *testing.T) {
	pub := rfcKey(t).Public().(ed25519.PublicKey)
	if got := hex.EncodeToString(pub); got != rfcPubHex {
		t.Fatalf("public key %s, want RFC 8032's %s", got, rfcPubHex)
	}
	if got := identity.Fingerprint(pub); got != rfcFingerprint {
		t.Errorf("Fingerprint = %q, want %q", got, rfcFingerprint)
	}
	if got := len(identity.Fingerprint(pub)); got != 50 {
		t.Errorf("fingerprint is %d characters, want 50", got)
	}
	if got, want := identity.ShortFingerprint(pub), "If4x36FUomFi"; got != want {
		t.Errorf("ShortFingerprint = %q, want %q", got, want)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if identity.Fingerprint(other) == identity.Fingerprint(pub) {
		t.Error("two keys share a fingerprint")
	}
}

func TestDefaultDataDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	tests := []struct {
		xdg, want string
	}{
		{xdg: filepath.Join(home, "xdg"), want: filepath.Join(home, "xdg", "udpchat")},
		{xdg: "", want: filepath.Join(home, ".local", "share", "udpchat")},
		{xdg: "relative/dir", want: filepath.Join(home, ".local", "share", "udpchat")},
	}
	for _, tt := range tests {
		t.Setenv("XDG_DATA_HOME", tt.xdg)
		got, err := identity.DefaultDataDir()
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && runtime.GOOS != "plan9" && got != tt.want {
			t.Errorf("XDG_DATA_HOME=%q: got %q, want %q", tt.xdg, got, tt.want)
		}
	}
}

func TestDefaultKnownServersPath(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	got, err := identity.DefaultKnownServersPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("udpchat", "known_servers"); !strings.HasSuffix(got, want) {
		t.Errorf("got %q, want it to end in %q", got, want)
	}
	if runtime.GOOS == "linux" {
		if want := filepath.Join(cfg, "udpchat", "known_servers"); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
