// Package identity is the long-term identity of a udpchat server, the
// client's record of the identities it has seen (protocol version 2, server
// authentication; see docs/PROTOCOL.md), and a client's own identity.
//
// It works like SSH's host keys and known_hosts:
//
//   - The server keeps an Ed25519 private key in its data directory
//     (LoadOrCreate), created on first start. In every version 2 KEY_REP it
//     sends the public half and a signature over the handshake transcript
//     (Sign, HandshakeTranscript).
//   - The client checks the signature (Verify) and pins the key to the
//     server's name, with its address as a second key, on first use in a
//     known_servers file (KnownServers, CheckName). A
//     later connection that presents another key is refused with a
//     *KeyMismatchError until the user accepts the new key explicitly; a server
//     whose key is pinned may not fall back to version 1 (KnownServers.Lookup),
//     since that would let an attacker downgrade away the authentication.
//   - Keys are shown to people as SSH-style fingerprints (Fingerprint,
//     ShortFingerprint), and named so in configuration (CheckFingerprint).
//
// A client may have a key of its own too (LoadOrCreateClient), kept as the
// server's is: it signs its half of the handshake in its KEY_REQ
// (SignHello, HelloTranscript), and the server signs the key back into its
// transcript (Transcript.ClientKey), so that the server can register
// nicknames to it.
package identity

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeyFile is the name of the server's private key file inside its data
// directory. It holds one PEM "PRIVATE KEY" block: the Ed25519 key in PKCS#8
// form, as written by x509.MarshalPKCS8PrivateKey (and by
// `openssl genpkey -algorithm ed25519`).
const KeyFile = "server_ed25519.pem"

// ClientKeyFile is the name of a client's private key file inside its data
// directory, in the same form as KeyFile: the key a version 2 client
// proves in its handshake, to which the server registers its nicknames.
// It has its own name so that a server and a client of the same user may
// share a data directory without sharing a key.
const ClientKeyFile = "client_ed25519.pem"

// pemType is the PEM block type of a PKCS#8 private key.
const pemType = "PRIVATE KEY"

// maxKeyFileSize bounds what LoadOrCreate reads; a PEM Ed25519 key is
// about 120 bytes.
const maxKeyFileSize = 64 << 10

// LoadOrCreate returns the server's long-term identity key, kept in
// dir/server_ed25519.pem (KeyFile).
//
// If the file does not exist, LoadOrCreate creates dir (mode 0700, with its
// parents) if needed, generates a key from crypto/rand, and writes it
// atomically (a temporary file in dir, then a rename) with mode 0600; created
// is then true.
//
// If the file exists, it must be a regular file holding a PEM "PRIVATE KEY"
// block with a PKCS#8 Ed25519 key, and (except on Windows, where modes mean
// little) its mode must give no access to group or others, nor may dir's
// let group or others write (CheckNotWritable). Otherwise
// LoadOrCreate returns an error naming the path (and, for a bad mode, the
// chmod to run); it never overwrites an existing file.
func LoadOrCreate(dir string) (key ed25519.PrivateKey, created bool, err error) {
	return loadOrCreate(dir, KeyFile, "server")
}

// LoadOrCreateClient is LoadOrCreate for a client's own key, kept in
// dir/client_ed25519.pem (ClientKeyFile) under the same rules: created on
// first use with mode 0600, refused if others may read it or write dir.
func LoadOrCreateClient(dir string) (key ed25519.PrivateKey, created bool, err error) {
	return loadOrCreate(dir, ClientKeyFile, "client")
}

// loadOrCreate is LoadOrCreate of dir/file; role ("server", "client")
// names the key in errors.
func loadOrCreate(dir, file, role string) (key ed25519.PrivateKey, created bool, err error) {
	// The key file's mode keeps others from reading it, but whoever may
	// write dir may rename another key over it.
	if err := CheckNotWritable(role+" data directory", dir); err != nil {
		return nil, false, err
	}
	what := role + " identity key"
	path := filepath.Join(dir, file)
	key, err = loadKey(path, what)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	key, err = createKey(dir, path, what)
	if err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// loadKey reads and checks the key at path; what names it in errors. A
// missing file gives an error that errors.Is fs.ErrNotExist.
func loadKey(path, what string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s is not a regular file (%v)", what, path, st.Mode().Type())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%s %s is accessible by group or others (mode %#o); "+
			"a private key must be readable by its owner only: run chmod 600 %s", what, path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", what, path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("%s %s is too large (over %d bytes) to be a PEM Ed25519 key", what, path, maxKeyFileSize)
	}
	return parseKey(path, what, data)
}

// parseKey parses the contents of a key file; path and what are for
// messages only.
func parseKey(path, what string, data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s %s is not a PEM file (want a PEM %q block holding a PKCS#8 Ed25519 key)", what, path, pemType)
	}
	if block.Type != pemType {
		return nil, fmt.Errorf("%s %s holds a PEM %q block, want %q (a PKCS#8 Ed25519 key)", what, path, block.Type, pemType)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s %s is not a valid PKCS#8 private key: %w", what, path, err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s %s holds %s key, want an Ed25519 key", what, path, keyKind(parsed))
	}
	return key, nil
}

// keyKind names the algorithm of a parsed private key, for error messages.
func keyKind(k any) string {
	switch k.(type) {
	case *rsa.PrivateKey:
		return "an RSA"
	case *ecdsa.PrivateKey:
		return "an ECDSA"
	case *ecdh.PrivateKey:
		return "an ECDH (X25519)"
	default:
		return fmt.Sprintf("a %T", k)
	}
}

// createKey generates a key and writes it to path, creating dir; what
// names it in errors.
func createKey(dir, path, what string) (ed25519.PrivateKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: creating data directory: %w", what, err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%s: generating: %w", what, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding: %w", what, err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})
	if err := WriteAtomic(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("%s: writing %s: %w", what, path, err)
	}
	return key, nil
}

// WriteAtomic replaces path with data: it writes a temporary file in the same
// directory with mode perm, syncs it, and renames it over path, so that a
// reader sees the old contents or the new, never a part. The keys, the
// known_servers file and the server's nickname registrations are written so.
func WriteAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename durable too; not every system can sync a directory,
	// and the file is in place either way, so errors are ignored.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// DefaultDataDir returns the server's default data directory, where
// LoadOrCreate keeps the identity key: $XDG_DATA_HOME/udpchat if
// XDG_DATA_HOME is set to an absolute path (the XDG spec says to ignore a
// relative one), else ~/.local/share/udpchat.
func DefaultDataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "udpchat"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no default data directory (set XDG_DATA_HOME or configure one): %w", err)
	}
	return filepath.Join(home, ".local", "share", "udpchat"), nil
}

// DefaultKnownServersPath returns the client's default known_servers file:
// udpchat/known_servers in os.UserConfigDir (on Linux $XDG_CONFIG_HOME, else
// ~/.config).
func DefaultKnownServersPath() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no default known_servers file (configure one): %w", err)
	}
	return filepath.Join(d, "udpchat", "known_servers"), nil
}

// fingerprintPrefix starts every fingerprint, naming its hash.
const fingerprintPrefix = "SHA256:"

// Fingerprint returns the SSH-style fingerprint of pub: "SHA256:" and the
// unpadded standard base64 of the SHA-256 of the 32 raw public key bytes, 50
// characters in all. (SSH hashes its own wire encoding of the key, so the
// value differs from what ssh-keygen prints for the same key.)
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return fingerprintPrefix + base64.RawStdEncoding.EncodeToString(sum[:])
}

// ShortFingerprintLen is how many characters of the hash ShortFingerprint keeps.
const ShortFingerprintLen = 12

// CheckFingerprint reports whether s is a fingerprint as Fingerprint
// writes it ("SHA256:" and 43 characters of unpadded base64 of 32 bytes),
// saying what is wrong if not: configuration names keys so (operators).
func CheckFingerprint(s string) error {
	rest, ok := strings.CutPrefix(s, fingerprintPrefix)
	if !ok {
		return fmt.Errorf("want a key fingerprint %sBASE64 as the server logs it, got %q", fingerprintPrefix, s)
	}
	if sum, err := base64.RawStdEncoding.Strict().DecodeString(rest); err != nil || len(sum) != sha256.Size {
		return fmt.Errorf("fingerprint %q: want %d characters of unpadded base64 after %s", s, base64.RawStdEncoding.EncodedLen(sha256.Size), fingerprintPrefix)
	}
	return nil
}

// ShortFingerprint returns the first 12 characters of Fingerprint(pub) after
// the "SHA256:" prefix, for status lines where the full fingerprint is too
// long. It identifies a key for people, not for security decisions.
func ShortFingerprint(pub ed25519.PublicKey) string {
	return Fingerprint(pub)[len(fingerprintPrefix):][:ShortFingerprintLen]
}
