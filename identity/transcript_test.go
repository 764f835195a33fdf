package identity_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/udpchat/udpchat/identity"
)

func baseTranscript(pub ed25519.PublicKey) identity.Transcript {
	return identity.Transcript{
		Hello:     []byte(`{"pub":"client-hello"}`),
		Reply:     []byte(`{"key":"server-reply"}`),
		Suites:    []string{"x25519-chacha20poly1305", "rsa-oaep-aes128cbc-hmac"},
		Nick:      "alice",
		Suite:     "x25519-chacha20poly1305",
		SessionID: 0x0123456789abcdef,
		ServerKey: pub,
	}
}

// clone deep-copies t, so that a mutation does not reach the original.
func clone(t identity.Transcript) identity.Transcript {
	t.Hello = bytes.Clone(t.Hello)
	t.Reply = bytes.Clone(t.Reply)
	t.Suites = slices.Clone(t.Suites)
	t.ServerKey = bytes.Clone(t.ServerKey)
	t.ClientKey = bytes.Clone(t.ClientKey)
	return t
}

func TestTranscriptSignVerify(t *testing.T) {
	priv := rfcKey(t)
	pub := priv.Public().(ed25519.PublicKey)
	base := baseTranscript(pub)
	sig := identity.Sign(priv, base)
	if err := identity.Verify(pub, base, sig); err != nil {
		t.Fatalf("Verify of a good signature: %v", err)
	}

	// Empty ServerKey means the signing/verifying key, on both sides.
	noKey := clone(base)
	noKey.ServerKey = nil
	if got := identity.Sign(priv, noKey); !bytes.Equal(got, sig) {
		t.Error("Sign with empty ServerKey differs from Sign with ServerKey = own key")
	}
	if err := identity.Verify(pub, noKey, sig); err != nil {
		t.Errorf("Verify with empty ServerKey: %v", err)
	}

	other, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		pub  ed25519.PublicKey
		sig  []byte
	}{
		{"other key", other, sig},
		{"short key", pub[:31], sig},
		{"nil key", nil, sig},
		{"truncated sig", pub, sig[:len(sig)-1]},
		{"nil sig", pub, nil},
		{"flipped sig", pub, func() []byte { s := bytes.Clone(sig); s[10] ^= 1; return s }()},
	}
	for _, tt := range bad {
		if err := identity.Verify(tt.pub, base, tt.sig); !errors.Is(err, identity.ErrBadSignature) {
			t.Errorf("%s: Verify = %v, want ErrBadSignature", tt.name, err)
		}
	}
}

func TestTranscriptEveryFieldCounts(t *testing.T) {
	priv := rfcKey(t)
	pub := priv.Public().(ed25519.PublicKey)
	otherPub, otherPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	base := baseTranscript(pub)
	baseBytes := identity.HandshakeTranscript(base)
	sig := identity.Sign(priv, base)

	tests := []struct {
		name, field string
		mutate      func(*identity.Transcript)
	}{
		{"hello byte", "Hello", func(t *identity.Transcript) { t.Hello[3] ^= 1 }},
		{"hello longer", "Hello", func(t *identity.Transcript) { t.Hello = append(t.Hello, 0) }},
		{"hello empty", "Hello", func(t *identity.Transcript) { t.Hello = nil }},
		{"reply byte", "Reply", func(t *identity.Transcript) { t.Reply[0] ^= 0x80 }},
		{"reply shorter", "Reply", func(t *identity.Transcript) { t.Reply = t.Reply[:len(t.Reply)-1] }},
		{"suites reordered", "Suites", func(t *identity.Transcript) { slices.Reverse(t.Suites) }},
		{"suite dropped (downgrade)", "Suites", func(t *identity.Transcript) { t.Suites = t.Suites[1:] }},
		{"suite added", "Suites", func(t *identity.Transcript) { t.Suites = append(t.Suites, "null") }},
		{"suite renamed", "Suites", func(t *identity.Transcript) { t.Suites[1] = "rsa-oaep-aes128cbc-hmaC" }},
		{"suites empty", "Suites", func(t *identity.Transcript) { t.Suites = nil }},
		{"nick", "Nick", func(t *identity.Transcript) { t.Nick = "mallory" }},
		{"nick empty", "Nick", func(t *identity.Transcript) { t.Nick = "" }},
		{"suite", "Suite", func(t *identity.Transcript) { t.Suite = "rsa-oaep-aes128cbc-hmac" }},
		{"session id", "SessionID", func(t *identity.Transcript) { t.SessionID++ }},
		{"session id high byte", "SessionID", func(t *identity.Transcript) { t.SessionID ^= 1 << 63 }},
		{"server key", "ServerKey", func(t *identity.Transcript) { t.ServerKey = otherPub }},
		{"client key added", "ClientKey", func(t *identity.Transcript) { t.ClientKey = otherPub }},
	}

	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			covered[tt.field] = true
			m := clone(base)
			tt.mutate(&m)
			if got := identity.HandshakeTranscript(m); bytes.Equal(got, baseBytes) {
				t.Fatal("transcript bytes unchanged")
			}
			if err := identity.Verify(pub, m, sig); !errors.Is(err, identity.ErrBadSignature) {
				t.Errorf("Verify(server key) = %v, want ErrBadSignature", err)
			}
			// Nor does it verify under the transcript's own ServerKey, when
			// that was changed.
			if err := identity.Verify(m.ServerKey, m, sig); !errors.Is(err, identity.ErrBadSignature) {
				t.Errorf("Verify(transcript key) = %v, want ErrBadSignature", err)
			}
			// The base transcript must not have been touched.
			if !bytes.Equal(identity.HandshakeTranscript(base), baseBytes) {
				t.Fatal("mutation reached the base transcript")
			}
		})
	}
	// A server key substituted consistently (an attacker's key and its
	// signature) verifies only under that key, never the pinned one.
	m := clone(base)
	m.ServerKey = otherPub
	if err := identity.Verify(pub, m, identity.Sign(otherPriv, m)); !errors.Is(err, identity.ErrBadSignature) {
		t.Errorf("attacker's signature verified under the real key: %v", err)
	}

	typ := reflect.TypeFor[identity.Transcript]()
	for i := range typ.NumField() {
		if name := typ.Field(i).Name; !covered[name] {
			t.Errorf("Transcript.%s is not mutated by any case: add one", name)
		}
	}
}

func TestTranscriptUnambiguous(t *testing.T) {
	tests := []struct {
		name string
		a, b identity.Transcript
	}{
		{"nick/suite boundary",
			identity.Transcript{Nick: "ab", Suite: "c"},
			identity.Transcript{Nick: "a", Suite: "bc"}},
		{"hello/reply boundary",
			identity.Transcript{Hello: []byte("ab"), Reply: []byte("c")},
			identity.Transcript{Hello: []byte("a"), Reply: []byte("bc")}},
		{"suites split",
			identity.Transcript{Suites: []string{"a", "b"}},
			identity.Transcript{Suites: []string{"ab"}}},
		{"empty suite names",
			identity.Transcript{Suites: []string{"", ""}},
			identity.Transcript{Suites: []string{""}}},
		{"last suite vs nick",
			identity.Transcript{Suites: []string{"a"}, Nick: ""},
			identity.Transcript{Suites: nil, Nick: "a"}},
		{"suite vs nick",
			identity.Transcript{Nick: "x"},
			identity.Transcript{Suite: "x"}},
		{"reply vs server key",
			identity.Transcript{Reply: []byte("k")},
			identity.Transcript{ServerKey: ed25519.PublicKey("k")}},
	}
	for _, tt := range tests {
		if bytes.Equal(identity.HandshakeTranscript(tt.a), identity.HandshakeTranscript(tt.b)) {
			t.Errorf("%s: two different transcripts encode the same", tt.name)
		}
	}
}

// TestTranscriptEncoding pins the documented byte layout.
func TestTranscriptEncoding(t *testing.T) {
	got := identity.HandshakeTranscript(identity.Transcript{
		Hello:     []byte{0xaa},
		Reply:     []byte{0xbb, 0xcc},
		Suites:    []string{"s1", ""},
		Nick:      "n",
		Suite:     "s1",
		SessionID: 0x0102030405060708,
		ServerKey: ed25519.PublicKey{0xdd},
	})
	var want []byte
	want = append(want, "udpchat v2 handshake\x00"...)
	want = append(want, 0, 0, 0, 1, 0xaa)       // Hello
	want = append(want, 0, 0, 0, 2, 0xbb, 0xcc) // Reply
	want = append(want, 0, 0, 0, 2)             // len(Suites)
	want = append(want, 0, 0, 0, 2, 's', '1')   // Suites[0]
	want = append(want, 0, 0, 0, 0)             // Suites[1]
	want = append(want, 0, 0, 0, 1, 'n')        // Nick
	want = append(want, 0, 0, 0, 2, 's', '1')   // Suite
	want = append(want, 1, 2, 3, 4, 5, 6, 7, 8) // SessionID
	want = append(want, 0, 0, 0, 1, 0xdd)       // ServerKey
	if !bytes.Equal(got, want) {
		t.Errorf("encoding\n got %x\nwant %x", got, want)
	}
	if len(identity.HandshakeTranscript(identity.Transcript{})) != 21+4*6+8 {
		t.Error("empty transcript has the wrong length")
	}
}
