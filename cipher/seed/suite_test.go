package seed_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/cipher/ciphertest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
)

func TestRegistered(t *testing.T) {
	s, err := core.Suites.Lookup(seed.Name)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != seed.Name || seed.Name != "rsa-aes-cbc-hmac" {
		t.Errorf("registered suite is named %q", s.Name())
	}
}

func newKeys(t testing.TB) core.SessionKeys {
	t.Helper()
	k, err := seed.NewSessionKeys(bytes.Repeat([]byte{0x42}, 16))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewSessionKeysRejectsKeyLength(t *testing.T) {
	for _, n := range []int{0, 15, 17, 24, 32} {
		if _, err := seed.NewSessionKeys(make([]byte, n)); err == nil || !strings.Contains(err.Error(), "need 16") {
			t.Errorf("key of %d bytes: err = %v", n, err)
		}
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	keys := newKeys(t)
	var s seed.Suite
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 1000, 4000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			pt := bytes.Repeat([]byte{'x'}, n)
			sealed, err := keys.Seal(nil, pt, []byte("ignored header"))
			if err != nil {
				t.Fatal(err)
			}
			if want := n + s.Overhead(n); len(sealed) != want {
				t.Errorf("sealed %d bytes into %d, Overhead predicts %d", n, len(sealed), want)
			}
			if ct := len(sealed) - 48; ct <= 0 || ct%16 != 0 || ct-n < 1 || ct-n > 16 {
				t.Errorf("ciphertext of %d bytes for %d of plaintext", ct, n)
			}
			// ad is not bound in v1: a different header opens the same.
			got, err := keys.Open(nil, sealed, []byte("another header"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt) {
				t.Fatalf("Open = %q, want %q", got, pt)
			}
			again, err := keys.Seal(nil, pt, nil)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(sealed[32:48], again[32:48]) || bytes.Equal(sealed, again) {
				t.Error("two seals of the same plaintext share an IV")
			}
			if bytes.Equal(keys.Tag(sealed), keys.Tag(again)) {
				t.Error("two seals of the same plaintext share a tag")
			}
		})
	}
}

func TestOverhead(t *testing.T) {
	var s seed.Suite
	for _, tc := range []struct{ n, want int }{
		{0, 64}, {1, 63}, {15, 49}, {16, 64}, {17, 63}, {4000, 64}, {4001, 63},
	} {
		if got := s.Overhead(tc.n); got != tc.want {
			t.Errorf("Overhead(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

// TestAppendSemantics: Seal and Open append to dst, leave its prefix alone,
// and work in place (dst = plaintext[:0], dst = sealed[:0]).
func TestAppendSemantics(t *testing.T) {
	keys := newKeys(t)
	pt := []byte("hello, world, this spans two blocks")

	sealed, err := keys.Seal([]byte("prefix"), pt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealed, []byte("prefix")) {
		t.Fatalf("Seal lost dst's prefix: %q", sealed[:6])
	}
	sealed = sealed[6:]
	opened, err := keys.Open([]byte("pre"), sealed, nil)
	if err != nil || string(opened) != "pre"+string(pt) {
		t.Fatalf("Open = %q, %v", opened, err)
	}

	buf := make([]byte, len(pt), 200)
	copy(buf, pt)
	inPlace, err := keys.Seal(buf[:0], buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := keys.Open(nil, inPlace, nil); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("in-place Seal: Open = %q, %v", got, err)
	}
	got, err := keys.Open(inPlace[:0], inPlace, nil)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("in-place Open = %q, %v", got, err)
	}
}

func TestOpenRejects(t *testing.T) {
	keys := newKeys(t)
	good, err := keys.Seal(nil, []byte("sixteen bytes!!!"), nil) // 16 + 16 padding
	if err != nil {
		t.Fatal(err)
	}
	testOpenRejects(t, keys, nil, append(shapeRejects(good),
		rejectCase{"extra byte", append(bytes.Clone(good), 0), "not a multiple of the block size"},
		rejectCase{"tag bit", flipped(good, 0, 1), "bad tag"},
		rejectCase{"iv bit", flipped(good, 40, 1), "bad tag"},
		rejectCase{"last bit", flipped(good, len(good)-1, 1), "bad tag"},
		rejectCase{"other key", func() []byte {
			k, _ := seed.NewSessionKeys(make([]byte, 16))
			b, _ := k.Seal(nil, []byte("sixteen bytes!!!"), nil)
			return b
		}(), "bad tag"},
	))
}

// rejectCase is a sealing Open must refuse, and what its error must say.
type rejectCase struct {
	name   string
	sealed []byte
	why    string
}

// shapeRejects are the cuts of good, a sealing of 16 bytes of plaintext,
// that every version refuses.
func shapeRejects(good []byte) []rejectCase {
	return []rejectCase{
		{"nil", nil, "too short"},
		{"tag only", good[:32], "too short"},
		{"tag and iv", good[:48], "too short"},
		{"one block short", good[:len(good)-16], "bad tag"},
		{"ragged", good[:len(good)-1], "not a multiple of the block size"},
	}
}

// flipped is a copy of b with byte i XORed with mask.
func flipped(b []byte, i int, mask byte) []byte {
	b = bytes.Clone(b)
	b[i] ^= mask
	return b
}

// testOpenRejects opens each case under ad, in a subtest of its name: Open
// must fail with ErrAuth saying why, return nothing and leave dst alone.
func testOpenRejects(t *testing.T, keys core.SessionKeys, ad []byte, cases []rejectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := keys.Open(dst[:4:4], tc.sealed, ad)
			if err == nil || got != nil {
				t.Fatalf("Open = %q, %v", got, err)
			}
			if !errors.Is(err, core.ErrAuth) || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("err = %q, want ErrAuth saying %q", err, tc.why)
			}
			if string(dst) != "keep" {
				t.Errorf("dst changed to %q", dst)
			}
		})
	}
}

func TestTag(t *testing.T) {
	keys := newKeys(t)
	sealed, err := keys.Seal(nil, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tag := keys.Tag(sealed)
	if !bytes.Equal(tag, sealed[:32]) {
		t.Fatalf("Tag = %x, want %x", tag, sealed[:32])
	}
	sealed[0] ^= 0xff // the engine reuses datagram buffers
	if tag[0] == sealed[0] {
		t.Error("Tag aliases the sealed buffer")
	}
	for _, n := range []int{0, 31, 32, 63} {
		if got := keys.Tag(make([]byte, n)); got != nil {
			t.Errorf("Tag of %d bytes = %x, want nil", n, got)
		}
	}
}

// TestConcurrentSealOpen: one version 1 key, both ways at once (the
// conformance suite's check).
func TestConcurrentSealOpen(t *testing.T) {
	keys := newKeys(t)
	ciphertest.TestConcurrent(t, keys, keys)
}

// TestHandshake runs our server against our client, with the vector key to
// spare a key generation: both sides must end with the same session key.
func TestHandshake(t *testing.T) {
	_, priv := loadVectors(t)
	in, err := seed.NewInitiatorFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	var s seed.Suite
	client, server := ciphertest.TestHandshake(t, s, in, 1)
	ciphertest.TestRoundTrip(t, s, client, server)
	// The reply is the session key wrapped for RSA-2048: 256 bytes.
	if reply, _, err := s.Respond(rand.Reader, in.Hello(), v1); err != nil || len(reply) != 256 {
		t.Errorf("reply of %d bytes (%v), want 256", len(reply), err)
	}
}

// TestNewInitiator pays for one RSA-2048 generation to check the real
// path's hello; TestSuite runs handshakes on it.
func TestNewInitiator(t *testing.T) {
	var s seed.Suite
	in, err := s.NewInitiator(nil)
	if err != nil {
		t.Fatal(err)
	}
	hello := in.Hello()
	if !bytes.HasPrefix(hello, []byte("-----BEGIN PUBLIC KEY-----\n")) ||
		!bytes.HasSuffix(hello, []byte("\n-----END PUBLIC KEY-----")) {
		t.Fatalf("Hello is not a newline-less PEM public key: %q", hello)
	}
	block, _ := pem.Decode(hello)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if rk, ok := pub.(*rsa.PublicKey); !ok || rk.N.BitLen() != 2048 || rk.E != 65537 {
		t.Fatalf("public key %T, want RSA-2048 with e=65537", pub)
	}
}

func TestNewInitiatorFromKeyRejects(t *testing.T) {
	if _, err := seed.NewInitiatorFromKey(nil); err == nil {
		t.Error("nil key accepted")
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.NewInitiatorFromKey(small); err == nil || !strings.Contains(err.Error(), "1024 bits") {
		t.Errorf("1024-bit key: err = %v", err)
	}
}

func pemOf(typ string, der []byte) []byte {
	return bytes.TrimSuffix(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), []byte("\n"))
}

// fakeRSA encodes a public key that is only the right shape: Respond must
// refuse it before doing any RSA work, so the numbers need not be a real key.
func fakeRSA(t testing.TB, bits, e int) []byte {
	t.Helper()
	n := new(big.Int).SetBit(big.NewInt(1), bits-1, 1) // odd, exactly bits long
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: e})
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("PUBLIC KEY", der)
}

func TestRespondAccepts(t *testing.T) {
	_, priv := loadVectors(t)
	in, err := seed.NewInitiatorFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&priv.PublicKey))
	for _, tc := range []struct {
		name  string
		hello []byte
	}{
		{"seed form", in.Hello()},
		{"trailing newline", append(in.Hello(), '\n')},
		{"surrounding whitespace", append(append([]byte(" \r\n"), in.Hello()...), " \r\n\t"...)},
		{"PKCS#1", pkcs1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s seed.Suite
			reply, server, err := s.Respond(rand.Reader, tc.hello, v1)
			if err != nil {
				t.Fatal(err)
			}
			client, err := in.Finish(reply, v1)
			if err != nil {
				t.Fatal(err)
			}
			ciphertest.TestRoundTrip(t, s, client, server)
		})
	}
}

func TestRespondRejects(t *testing.T) {
	_, priv := loadVectors(t)
	in, err := seed.NewInitiatorFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	good := in.Hello()

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallDER, err := x509.MarshalPKIXPublicKey(&small.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.MarshalPKIXPublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	withHeaders := pem.EncodeToMemory(&pem.Block{
		Type: "PUBLIC KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"},
		Bytes: mustPEMBytes(t, good),
	})

	for _, tc := range []struct {
		name  string
		hello []byte
		why   string
	}{
		{"empty", nil, "not a PEM block"},
		{"whitespace", []byte(" \n"), "not a PEM block"},
		{"garbage", []byte("hello, server"), "not a PEM block"},
		{"base64 of the PEM", []byte("LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0K"), "not a PEM block"},
		{"leading garbage", append([]byte("x"), good...), "not a PEM block"},
		{"truncated", good[:len(good)-10], "not a valid PEM block"},
		{"trailing garbage", append(bytes.Clone(good), "\nextra"...), "trailing data"},
		{"two blocks", append(append(bytes.Clone(good), '\n'), good...), "trailing data"},
		{"headers", withHeaders, "headers"},
		{"private key type", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(priv)), `type "RSA PRIVATE KEY"`},
		{"bad DER", pemOf("PUBLIC KEY", []byte("not DER")), "parsing the public key"},
		{"bad PKCS#1 DER", pemOf("RSA PUBLIC KEY", []byte("not DER")), "parsing the public key"},
		{"ed25519", pemOf("PUBLIC KEY", edDER), "not RSA"},
		{"512 bits, as the seed accepts", fakeRSA(t, 512, 65537), "key of 512 bits, need at least 2048"},
		{"1024 bits", pemOf("PUBLIC KEY", smallDER), "key of 1024 bits, need at least 2048"},
		{"2047 bits", fakeRSA(t, 2047, 65537), "key of 2047 bits, need at least 2048"},
		{"4097 bits", fakeRSA(t, 4097, 65537), "key of 4097 bits, more than the 4096 allowed"},
		{"8192 bits (issue 15: 17 times the work)", fakeRSA(t, 8192, 65537), "key of 8192 bits, more than the 4096 allowed"},
		{"even modulus", func() []byte {
			n := new(big.Int).SetBit(big.NewInt(0), 2047, 1)
			der, _ := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
			return pemOf("PUBLIC KEY", der)
		}(), "modulus is even"},
		{"e=1", fakeRSA(t, 2048, 1), "public exponent 1"},
		{"e=2", fakeRSA(t, 2048, 2), "public exponent 2"},
		{"e=65536", fakeRSA(t, 2048, 65536), "public exponent 65536"},
		{"e=65539", fakeRSA(t, 2048, 65539), "public exponent 65539"},
		{"e=2^31-1", fakeRSA(t, 4096, 1<<31-1), "public exponent 2147483647"},
		{"e=2^31+1", fakeRSA(t, 2048, 1<<31+1), "public exponent 2147483649"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s seed.Suite
			reply, keys, err := s.Respond(rand.Reader, tc.hello, v1)
			if err == nil {
				t.Fatal("Respond accepted it")
			}
			if reply != nil || keys != nil {
				t.Errorf("Respond returned a reply or keys alongside %v", err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "cipher/seed: respond: ") || !strings.Contains(msg, tc.why) {
				t.Errorf("err = %q, want it to say %q", msg, tc.why)
			}
		})
	}
}

func mustPEMBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("not PEM")
	}
	return block.Bytes
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestRespondRandFailure(t *testing.T) {
	_, priv := loadVectors(t)
	in, err := seed.NewInitiatorFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	var s seed.Suite
	if _, _, err := s.Respond(failingReader{}, in.Hello(), v1); err == nil || !strings.Contains(err.Error(), "no entropy") {
		t.Errorf("err = %v, want the reader's error", err)
	}
}

func TestFinishRejects(t *testing.T) {
	_, priv := loadVectors(t)
	in, err := seed.NewInitiatorFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	wrap := func(n int) []byte {
		b, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &priv.PublicKey, make([]byte, n), nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sha256Wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &priv.PublicKey, make([]byte, 16), nil)
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 256)
	rand.Read(random)
	random[0] = 0 // below the modulus, so it reaches OAEP decoding

	for _, tc := range []struct {
		name    string
		reply   []byte
		why     string
		authErr bool
	}{
		{"empty", nil, "reply of 0 bytes, need 256", true},
		{"garbage", []byte("garbage"), "reply of 7 bytes, need 256", true},
		{"too long", append(wrap(16), 0), "reply of 257 bytes, need 256", true},
		{"random", random, "cannot unwrap the session key", true},
		{"OAEP with SHA-256", sha256Wrapped, "cannot unwrap the session key", true},
		{"15-byte key", wrap(15), "session key of 15 bytes, need 16", false},
		{"32-byte key", wrap(32), "session key of 32 bytes, need 16", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := in.Finish(tc.reply, v1)
			if err == nil {
				t.Fatal("Finish accepted it")
			}
			if keys != nil {
				t.Error("Finish returned keys alongside an error")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "cipher/seed: finish: ") || !strings.Contains(msg, tc.why) {
				t.Errorf("err = %q, want it to say %q", msg, tc.why)
			}
			if got := errors.Is(err, core.ErrAuth); got != tc.authErr {
				t.Errorf("errors.Is(err, core.ErrAuth) = %v, want %v", got, tc.authErr)
			}
		})
	}
}

// TestSuite runs the conformance suite every cipher suite passes.
func TestSuite(t *testing.T) { ciphertest.TestSuite(t, seed.Suite{}) }
