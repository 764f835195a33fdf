package modern_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/udpchat/udpchat/cipher/ciphertest"
	"github.com/udpchat/udpchat/cipher/modern"
	"github.com/udpchat/udpchat/core"
)

var hs2 = core.Handshake{Version: 2, SessionID: 0x0123456789abcdef}

func ad(seq uint64) []byte {
	p := core.Packet{Type: core.TypeData, Seq: seq, HasSeq: true, Session: hs2.SessionID}
	return p.AD()
}

// handshake runs a full handshake and returns the client's and the server's
// keys and both payloads.
func handshake(t testing.TB, hs core.Handshake) (client, server core.SessionKeys, hello, reply []byte) {
	t.Helper()
	in, err := modern.Suite{}.NewInitiator(nil)
	if err != nil {
		t.Fatal(err)
	}
	hello = in.Hello()
	reply, server, err = modern.Suite{}.Respond(nil, hello, hs)
	if err != nil {
		t.Fatal(err)
	}
	client, err = in.Finish(reply, hs)
	if err != nil {
		t.Fatal(err)
	}
	return client, server, hello, reply
}

func seal(t testing.TB, k core.SessionKeys, pt, ad []byte) []byte {
	t.Helper()
	s, err := k.Seal(nil, pt, ad)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegistered(t *testing.T) {
	s, err := core.Suites.Lookup(modern.Name)
	if err != nil || s.Name() != modern.Name {
		t.Fatalf("Suites.Lookup(%q) = %v, %v", modern.Name, s, err)
	}
}

// TestRoundTrip: the payloads are of the documented sizes, and the keys
// pass the conformance suite's round trip and Tag checks.
func TestRoundTrip(t *testing.T) {
	client, server, hello, reply := handshake(t, hs2)
	if len(hello) != modern.HelloSize || len(reply) != modern.PointSize {
		t.Fatalf("hello %d bytes, reply %d bytes, want %d and %d", len(hello), len(reply), modern.HelloSize, modern.PointSize)
	}
	ciphertest.TestRoundTrip(t, modern.Suite{}, client, server)
	ciphertest.TestTag(t, client, server)
}

func TestInPlace(t *testing.T) {
	client, server, _, _ := handshake(t, hs2)
	buf := make([]byte, 5, 64)
	copy(buf, "hello")
	sealed, err := client.Seal(buf[:0], buf, ad(1))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := server.Open(sealed[:0], sealed, ad(1))
	if err != nil || string(pt) != "hello" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
}

// TestKeyDerivation checks the keys against the derivation the package
// documentation states, computed here independently.
func TestKeyDerivation(t *testing.T) {
	client, server, _, _ := handshake(t, hs2)
	cSeal, cOpen := modern.KeyBytes(client)
	sSeal, sOpen := modern.KeyBytes(server)
	if !bytes.Equal(cSeal, sOpen) || !bytes.Equal(cOpen, sSeal) || bytes.Equal(cSeal, cOpen) {
		t.Fatal("client and server keys do not mirror each other, or the directions share a key")
	}

	// A known shared secret: the server's reply is the public key of a
	// private key we hold, so Respond's output can be recomputed.
	clientPriv, err := ecdh.X25519().GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	hello := pad(clientPriv.PublicKey().Bytes())
	reply, server, err := modern.Suite{}.Respond(nil, hello, hs2)
	if err != nil {
		t.Fatal(err)
	}
	serverPub, _ := ecdh.X25519().NewPublicKey(reply)
	shared, err := clientPriv.ECDH(serverPub)
	if err != nil {
		t.Fatal(err)
	}
	th := sha256.Sum256(append(append([]byte(nil), hello...), reply...))
	var salt [8]byte
	binary.BigEndian.PutUint64(salt[:], hs2.SessionID)
	key := func(label string) []byte {
		k, err := hkdf.Key(sha256.New, shared, salt[:], "udpchat v2 x25519-chacha20poly1305 "+label+string(th[:]), 32)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	sSeal, sOpen = modern.KeyBytes(server)
	if !bytes.Equal(sSeal, key("s2c")) || !bytes.Equal(sOpen, key("c2s")) {
		t.Errorf("server keys\nseal %x\nopen %x\nwant\nseal %x\nopen %x", sSeal, sOpen, key("s2c"), key("c2s"))
	}
}

// TestHeaderBound: a sealing opens under no other header (the conformance
// suite's check).
func TestHeaderBound(t *testing.T) {
	client, server, _, _ := handshake(t, hs2)
	ciphertest.TestHeaderBound(t, client, server)
}

// TestTampered: a sealing changed anyhow does not open (the conformance
// suite's check).
func TestTampered(t *testing.T) {
	client, server, _, _ := handshake(t, hs2)
	ciphertest.TestTampered(t, client, server)
}

// TestDirectional: neither side opens its own seals (the conformance
// suite's check).
func TestDirectional(t *testing.T) {
	client, server, _, _ := handshake(t, hs2)
	ciphertest.TestDirectional(t, client, server)
}

func TestSessionsDiffer(t *testing.T) {
	in, err := modern.Suite{}.NewInitiator(nil)
	if err != nil {
		t.Fatal(err)
	}
	hello := in.Hello()
	type session struct {
		reply []byte
		keys  core.SessionKeys
	}
	respond := func(hs core.Handshake) session {
		reply, keys, err := modern.Suite{}.Respond(nil, hello, hs)
		if err != nil {
			t.Fatal(err)
		}
		return session{reply, keys}
	}
	a, b := respond(hs2), respond(hs2)
	c := respond(core.Handshake{Version: 2, SessionID: hs2.SessionID + 1})
	if bytes.Equal(a.reply, b.reply) || bytes.Equal(a.reply, c.reply) {
		t.Error("two Responds to the same hello reused the server's ephemeral key")
	}
	seen := map[string]bool{}
	for _, s := range []session{a, b, c} {
		k, _ := modern.KeyBytes(s.keys)
		if seen[string(k)] {
			t.Error("two sessions derived the same key")
		}
		seen[string(k)] = true
	}
	// Same hello and reply, only the session id differs: the salt alone
	// must separate the keys, so the two sides cannot talk.
	wrong, err := in.Finish(a.reply, core.Handshake{Version: 2, SessionID: 42})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Open(nil, seal(t, a.keys, []byte("m"), ad(1)), ad(1)); !errors.Is(err, core.ErrAuth) {
		t.Errorf("client keyed for another session id opened the server's seal: err = %v", err)
	}
}

func TestVersionRefused(t *testing.T) {
	in, err := modern.Suite{}.NewInitiator(nil)
	if err != nil {
		t.Fatal(err)
	}
	reply, _, err := modern.Suite{}.Respond(nil, in.Hello(), hs2)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint8{0, 1, 3} {
		hs := core.Handshake{Version: v, SessionID: 1}
		if _, _, err := (modern.Suite{}).Respond(nil, in.Hello(), hs); err == nil || !strings.Contains(err.Error(), "needs protocol version 2") {
			t.Errorf("Respond version %d: err = %v", v, err)
		}
		if _, err := in.Finish(reply, hs); err == nil || !strings.Contains(err.Error(), "needs protocol version 2") {
			t.Errorf("Finish version %d: err = %v", v, err)
		}
	}
}

// lowOrder are X25519 u-coordinates of small order (and their non-canonical
// encodings), all of which give an all-zero shared secret.
var lowOrder = []string{
	"0000000000000000000000000000000000000000000000000000000000000000", // 0
	"0100000000000000000000000000000000000000000000000000000000000000", // 1
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (= 0)
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1 (= 1)
}

func TestBadHello(t *testing.T) {
	in, _ := modern.Suite{}.NewInitiator(nil)
	good := in.Hello()
	bad := map[string][]byte{
		"empty":    nil,
		"31 bytes": good[:31],
		"33 bytes": append(bytes.Clone(good), 0),
	}
	for i, h := range lowOrder {
		b, _ := hex.DecodeString(h)
		bad[fmt.Sprintf("low order %d", i)] = pad(b)
	}
	for name, hello := range bad {
		if _, _, err := (modern.Suite{}).Respond(nil, hello, hs2); err == nil {
			t.Errorf("Respond accepted a hello (%s)", name)
		}
	}
}

func TestBadReply(t *testing.T) {
	in, _ := modern.Suite{}.NewInitiator(nil)
	reply, server, err := modern.Suite{}.Respond(nil, in.Hello(), hs2)
	if err != nil {
		t.Fatal(err)
	}
	bad := [][]byte{nil, reply[:31], append(bytes.Clone(reply), 0)}
	for _, h := range lowOrder {
		b, _ := hex.DecodeString(h)
		bad = append(bad, b)
	}
	for _, r := range bad {
		if _, err := in.Finish(r, hs2); !errors.Is(err, core.ErrAuth) {
			t.Errorf("Finish(%x): err = %v, want ErrAuth", r, err)
		}
	}
	// A bogus KEY_REP does not spoil the handshake: the real one still works.
	client, err := in.Finish(reply, hs2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Open(nil, seal(t, client, []byte("hi"), ad(1)), ad(1)); err != nil {
		t.Fatal(err)
	}
	// The private key is gone after a successful Finish.
	if _, err := in.Finish(reply, hs2); err == nil {
		t.Error("second Finish succeeded after the key was dropped")
	}
}

func TestCounters(t *testing.T) {
	client, server, _, _ := handshake(t, hs2)
	const n = 1000
	sealed := make([][]byte, n)
	seen := map[uint64]bool{}
	for i := range sealed {
		sealed[i] = seal(t, client, []byte(fmt.Sprint(i)), ad(uint64(i)))
		ctr := binary.BigEndian.Uint64(sealed[i])
		if seen[ctr] {
			t.Fatalf("counter %d used twice", ctr)
		}
		if ctr != uint64(i) {
			t.Errorf("seal %d used counter %d", i, ctr)
		}
		seen[ctr] = true
	}
	for _, i := range rand.Perm(n) {
		pt, err := server.Open(nil, sealed[i], ad(uint64(i)))
		if err != nil || string(pt) != fmt.Sprint(i) {
			t.Fatalf("message %d out of order: %q, %v", i, pt, err)
		}
	}
}

func TestCountersConcurrent(t *testing.T) {
	client, _, _, _ := handshake(t, hs2)
	var (
		mu   sync.Mutex
		seen = map[uint64]bool{}
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for range 100 {
				s, err := client.Seal(nil, []byte("x"), ad(1))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ctr := binary.BigEndian.Uint64(s)
				if seen[ctr] {
					t.Errorf("counter %d used twice", ctr)
				}
				seen[ctr] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestCounterExhausted(t *testing.T) {
	client, server, _, _ := handshake(t, hs2)
	modern.SetNextCounter(client, math.MaxUint64)
	last := seal(t, client, []byte("last"), ad(1))
	if ctr := binary.BigEndian.Uint64(last); ctr != math.MaxUint64 {
		t.Fatalf("counter %d, want 2^64-1", ctr)
	}
	if _, err := server.Open(nil, last, ad(1)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := client.Seal(nil, []byte("more"), ad(1)); err == nil {
			t.Fatal("sealed after the counter ran out")
		}
	}
}

func TestErase(t *testing.T) {
	client, server, _, _ := handshake(t, hs2)
	sealed := seal(t, client, []byte("m"), ad(1))
	for _, k := range []core.SessionKeys{client, server} {
		e, ok := k.(interface{ Erase() })
		if !ok {
			t.Fatalf("%T has no Erase method", k)
		}
		e.Erase()
		e.Erase() // idempotent
		s, o := modern.KeyBytes(k)
		if !bytes.Equal(s, make([]byte, 32)) || !bytes.Equal(o, make([]byte, 32)) {
			t.Errorf("key bytes not zeroed: %x %x", s, o)
		}
		if _, err := k.Seal(nil, []byte("m"), ad(1)); !errors.Is(err, modern.ErrErased) {
			t.Errorf("Seal after Erase: err = %v", err)
		}
	}
	if _, err := server.Open(nil, sealed, ad(1)); !errors.Is(err, modern.ErrErased) {
		t.Errorf("Open after Erase: err = %v", err)
	}
}

func FuzzOpen(f *testing.F) {
	client, server, _, _ := handshake(f, hs2)
	f.Add(seal(f, client, []byte("hello"), ad(1)), ad(1))
	f.Add(seal(f, client, nil, ad(2)), ad(2))
	f.Add(seal(f, server, []byte("reflected"), ad(3)), ad(3))
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, 23), ad(1))
	f.Add(make([]byte, 24), ad(1))
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		dst := []byte("dst")
		pt, err := server.Open(dst, sealed, ad)
		if err != nil {
			if !errors.Is(err, core.ErrAuth) {
				t.Fatalf("error does not match ErrAuth: %v", err)
			}
			if string(dst) != "dst" {
				t.Fatal("failed Open changed dst")
			}
			return
		}
		if len(pt) != len(dst)+len(sealed)-24 || !bytes.HasPrefix(pt, dst) {
			t.Fatalf("Open = %q from %d bytes", pt, len(sealed))
		}
	})
}

// pad makes a hello of a bare key, as NewInitiator does.
func pad(key []byte) []byte {
	h := make([]byte, modern.HelloSize)
	copy(h, key)
	return h
}

// TestSuite runs the conformance suite every cipher suite passes.
func TestSuite(t *testing.T) { ciphertest.TestSuite(t, modern.Suite{}) }
