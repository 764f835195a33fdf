package seed_test

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"testing"

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
	var s seed.Suite
	f.Fuzz(func(t *testing.T, sealed []byte) {
		orig := bytes.Clone(sealed)
		pt, err := keys.Open(nil, sealed, nil)
		if !bytes.Equal(sealed, orig) {
			t.Fatal("Open modified its input")
		}
		if err != nil {
			if !errors.Is(err, core.ErrAuth) {
				t.Fatalf("Open failed without ErrAuth: %v", err)
			}
			if pt != nil {
				t.Fatal("Open returned plaintext alongside an error")
			}
			return
		}
		if len(sealed) != len(pt)+s.Overhead(len(pt)) {
			t.Fatalf("accepted %d bytes for %d of plaintext", len(sealed), len(pt))
		}
		if tag := keys.Tag(sealed); !bytes.Equal(tag, sealed[:32]) {
			t.Fatalf("Tag = %x", tag)
		}
		resealed, err := keys.Seal(nil, pt, nil)
		if err != nil {
			t.Fatal(err)
		}
		again, err := keys.Open(nil, resealed, nil)
		if err != nil || !bytes.Equal(again, pt) {
			t.Fatalf("re-seal: Open = %q, %v; want %q", again, err, pt)
		}
	})
}

// FuzzSealOpen: any plaintext round-trips, and flipping any one bit of the
// sealing is caught.
func FuzzSealOpen(f *testing.F) {
	f.Add([]byte(""), uint16(0))
	f.Add([]byte("hello, world"), uint16(300))
	f.Add(bytes.Repeat([]byte{16}, 16), uint16(511))
	keys := newKeys(f)
	f.Fuzz(func(t *testing.T, pt []byte, bit uint16) {
		sealed, err := keys.Seal(nil, pt, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := keys.Open(nil, sealed, nil)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, %v; want %q", got, err, pt)
		}
		i := int(bit) % (len(sealed) * 8)
		sealed[i/8] ^= 1 << (i % 8)
		if got, err := keys.Open(nil, sealed, nil); !errors.Is(err, core.ErrAuth) {
			t.Fatalf("bit %d flipped: Open = %q, %v", i, got, err)
		}
	})
}

// FuzzRespond: a hostile hello never panics, and Respond either refuses it or
// returns a reply sized for a key it accepted, with working keys.
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
		reply, keys, err := s.Respond(rand.Reader, hello)
		if err != nil {
			if reply != nil || keys != nil {
				t.Fatal("reply or keys alongside an error")
			}
			return
		}
		if len(reply) < 256 || len(reply) > 1024 || keys == nil {
			t.Fatalf("accepted: reply of %d bytes, keys %v", len(reply), keys)
		}
		// The vector key's hello, however spelled, must give a reply the
		// vector key can open.
		if client, err := in.Finish(reply); err == nil {
			checkSameKey(t, client, keys)
		}
	})
}
