package seed_test

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/cipher/ciphertest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
)

// FuzzOpen: Open never panics, fails only with ErrAuth, and whatever it
// accepts has the shape Seal produces and survives a re-seal.
func FuzzOpen(f *testing.F) {
	v, _ := loadVectors(f)
	key := mustB64(f, v.AESKeyB64)
	for _, m := range v.Messages {
		f.Add(mustB64(f, m.Payload))
	}
	for _, r := range v.MustReject {
		if b, err := base64.StdEncoding.DecodeString(r.Payload); err == nil {
			f.Add(b)
		} else {
			f.Add([]byte(r.Payload))
		}
	}
	keys, err := seed.NewSessionKeys(key)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sealed []byte) {
		pt, ok := openChecked(t, keys, sealed, nil)
		if !ok {
			return
		}
		if tag := keys.Tag(sealed); !bytes.Equal(tag, sealed[:32]) {
			t.Fatalf("Tag = %x", tag)
		}
		sealOpen(t, "re-seal: ", keys, keys, pt, nil)
	})
}

// openChecked opens sealed under ad with keys and checks what any Open must
// do: leave its input as it was, fail only with ErrAuth and then without
// plaintext, and accept only the size Seal gives. It reports whether Open
// accepted, and the plaintext.
func openChecked(t *testing.T, keys core.SessionKeys, sealed, ad []byte) ([]byte, bool) {
	t.Helper()
	origSealed, origAD := bytes.Clone(sealed), bytes.Clone(ad)
	pt, err := keys.Open(nil, sealed, ad)
	if !bytes.Equal(sealed, origSealed) || !bytes.Equal(ad, origAD) {
		t.Fatal("Open modified its input")
	}
	if err != nil {
		if !errors.Is(err, core.ErrAuth) {
			t.Fatalf("Open failed without ErrAuth: %v", err)
		}
		if pt != nil {
			t.Fatal("Open returned plaintext alongside an error")
		}
		return nil, false
	}
	var s seed.Suite
	if len(sealed) != len(pt)+s.Overhead(len(pt)) {
		t.Fatalf("accepted %d bytes for %d of plaintext", len(sealed), len(pt))
	}
	return pt, true
}

// sealOpen seals pt under ad with sealer, checks that opener opens it back
// to pt (a failure's message begins with what), and returns the sealing.
func sealOpen(t *testing.T, what string, sealer, opener core.SessionKeys, pt, ad []byte) []byte {
	t.Helper()
	sealed, err := sealer.Seal(nil, pt, ad)
	if err != nil {
		t.Fatal(err)
	}
	got, err := opener.Open(nil, sealed, ad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("%sOpen = %q, %v; want %q", what, got, err, pt)
	}
	return sealed
}

// FuzzSealOpen: any plaintext round-trips, and flipping any one bit of the
// sealing is caught.
func FuzzSealOpen(f *testing.F) {
	f.Add([]byte(""), uint16(0))
	f.Add([]byte("hello, world"), uint16(300))
	f.Add(bytes.Repeat([]byte{16}, 16), uint16(511))
	keys := newKeys(f)
	f.Fuzz(func(t *testing.T, pt []byte, bit uint16) {
		sealed := sealOpen(t, "", keys, keys, pt, nil)
		i := int(bit) % (len(sealed) * 8)
		sealed[i/8] ^= 1 << (i % 8)
		if got, err := keys.Open(nil, sealed, nil); !errors.Is(err, core.ErrAuth) {
			t.Fatalf("bit %d flipped: Open = %q, %v", i, got, err)
		}
	})
}

// FuzzRespond: a hostile hello never panics, and Respond either refuses it or
// returns a reply sized for a key it accepted, with working keys, the same way
// in both protocol versions.
func FuzzRespond(f *testing.F) {
	v, priv := loadVectors(f)
	in, err := seed.NewInitiatorFromKey(priv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(in.Hello())
	f.Add([]byte(v.RSAPublicKeyPEM + "\n"))
	f.Add(pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&priv.PublicKey)))
	f.Add(fakeRSA(f, 512, 65537))
	f.Add([]byte(""))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----"))
	f.Add([]byte("garbage"))
	var s seed.Suite
	f.Fuzz(func(t *testing.T, hello []byte) {
		accepted := 0
		for _, hs := range []core.Handshake{v1, {Version: 2, SessionID: 0x0123456789abcdef}} {
			reply, keys, err := s.Respond(rand.Reader, hello, hs)
			if err != nil {
				if reply != nil || keys != nil {
					t.Fatal("reply or keys alongside an error")
				}
				continue
			}
			accepted++
			if len(reply) < 256 || len(reply) > 1024 || keys == nil {
				t.Fatalf("v%d accepted: reply of %d bytes, keys %v", hs.Version, len(reply), keys)
			}
			// The vector key's hello must give a reply the vector key can
			// open; in v1 however spelled, in v2 only byte for byte, since
			// v2 binds the hello as sent.
			if hs.Version == 2 && !bytes.Equal(hello, in.Hello()) {
				continue
			}
			if client, err := in.Finish(reply, hs); err == nil {
				ciphertest.TestRoundTrip(t, s, client, keys)
			}
		}
		if accepted == 1 {
			t.Fatal("v1 and v2 disagree on whether to accept the hello")
		}
	})
}

// FuzzOpenV2: the client's v2 Open of any payload under any ad never panics,
// fails only with ErrAuth, and accepts only what the server sealed under that
// very ad: the same payload under another ad, or reflected to the server,
// fails.
func FuzzOpenV2(f *testing.F) {
	v, _ := loadVectors(f)
	ss := newSession(f, keyK(), v2(sidA))
	ads := [][]byte{
		nil,
		dataAD(sidA, 0),
		dataAD(sidA, 1),
		dataAD(sidB, 0),
		(&core.Packet{Type: core.TypePong, Session: sidA}).AD(),
	}
	for i, ad := range ads {
		for _, pt := range []string{"", "hello", "sixteen bytes!!!", strings.Repeat("x", 100)} {
			sealed, err := ss.server.Seal(nil, []byte(pt), ad)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(sealed, ad)
			f.Add(sealed, ads[(i+1)%len(ads)]) // another header
			f.Add(sealed[:len(sealed)-1], ad)
			reflected, err := ss.client.Seal(nil, []byte(pt), ad)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(reflected, ad)
		}
	}
	for _, m := range v.Messages {
		f.Add(mustB64(f, m.Payload), dataAD(sidA, 0))
	}
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		pt, ok := openChecked(t, ss.client, sealed, ad)
		if !ok {
			return
		}
		if tag := ss.client.Tag(sealed); tag != nil {
			t.Fatalf("Tag = %x, want nil in v2", tag)
		}
		if _, err := ss.client.Open(nil, sealed, append(bytes.Clone(ad), 0)); err == nil {
			t.Fatal("opened under ad and under ad||0")
		}
		if _, err := ss.server.Open(nil, sealed, ad); err == nil {
			t.Fatal("the server opened what the client opens")
		}
		sealOpen(t, "re-seal: ", ss.server, ss.client, pt, ad)
	})
}

// FuzzSealOpenV2: any plaintext under any ad round-trips client to server,
// and flipping any one bit of the sealing or of the ad is caught.
func FuzzSealOpenV2(f *testing.F) {
	f.Add([]byte(""), []byte(nil), uint16(0))
	f.Add([]byte("hello, world"), dataAD(sidA, 3), uint16(300))
	f.Add(bytes.Repeat([]byte{16}, 16), dataAD(sidB, 1<<40), uint16(1000))
	ss := newSession(f, nil, v2(sidA))
	f.Fuzz(func(t *testing.T, pt, ad []byte, bit uint16) {
		sealed := sealOpen(t, "", ss.client, ss.server, pt, ad)
		ad = bytes.Clone(ad)
		i := int(bit) % ((len(sealed) + len(ad)) * 8)
		if i < len(sealed)*8 {
			sealed[i/8] ^= 1 << (i % 8)
		} else {
			i -= len(sealed) * 8
			ad[i/8] ^= 1 << (i % 8)
		}
		if got, err := ss.server.Open(nil, sealed, ad); !errors.Is(err, core.ErrAuth) {
			t.Fatalf("bit %d flipped: Open = %q, %v", int(bit), got, err)
		}
	})
}
