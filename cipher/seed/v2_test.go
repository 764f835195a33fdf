package seed_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/cipher/ciphertest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
)

const (
	sidA = 0x0123456789abcdef
	sidB = 0xfedcba9876543210
)

// fixedKey is a reader whose first 16 bytes, the session key Respond draws,
// are k; the rest (OAEP's seed) is random.
func fixedKey(k []byte) io.Reader {
	return io.MultiReader(bytes.NewReader(k), rand.Reader)
}

func keyK() []byte { return bytes.Repeat([]byte{0x5a}, 16) }

// session is both sides of one handshake, and what it was made of.
type session struct {
	in             core.Initiator
	hello, reply   []byte
	server, client core.SessionKeys
}

// newSession runs a handshake between the vector key's initiator and the
// suite, with the session key k (random if nil), and returns both sides.
func newSession(t testing.TB, k []byte, hs core.Handshake) session {
	t.Helper()
	_, priv := loadVectors(t)
	in, err := seed.NewInitiatorFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	r := io.Reader(rand.Reader)
	if k != nil {
		r = fixedKey(k)
	}
	var s seed.Suite
	reply, server, err := s.Respond(r, in.Hello(), hs)
	if err != nil {
		t.Fatal(err)
	}
	client, err := in.Finish(reply, hs)
	if err != nil {
		t.Fatal(err)
	}
	return session{in: in, hello: in.Hello(), reply: reply, server: server, client: client}
}

func v2(sid uint64) core.Handshake { return core.Handshake{Version: 2, SessionID: sid} }

func dataAD(sid, seq uint64) []byte {
	return (&core.Packet{Type: core.TypeData, Seq: seq, HasSeq: true, Session: sid}).AD()
}

// mustFail checks that keys cannot open sealed under ad, with ErrAuth and a
// bad tag: every v2 mismatch (header, direction, session, version) is one.
func mustFail(t *testing.T, what string, keys core.SessionKeys, sealed, ad []byte) {
	t.Helper()
	got, err := keys.Open(nil, sealed, ad)
	if err == nil {
		t.Errorf("%s: Open accepted it: %q", what, got)
		return
	}
	if got != nil {
		t.Errorf("%s: plaintext alongside the error", what)
	}
	if !errors.Is(err, core.ErrAuth) || !strings.Contains(err.Error(), "cipher/seed: open: bad tag") {
		t.Errorf("%s: err = %q, want ErrAuth saying bad tag", what, err)
	}
}

// TestV2RoundTrip: the conformance suite's round trip and Tag checks, and
// a sealing under no associated data at all.
func TestV2RoundTrip(t *testing.T) {
	ss := newSession(t, nil, v2(sidA))
	ciphertest.TestRoundTrip(t, seed.Suite{}, ss.client, ss.server)
	ciphertest.TestTag(t, ss.client, ss.server)
	sealed, err := ss.client.Seal(nil, []byte("no header"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ss.server.Open(nil, sealed, nil); err != nil || string(got) != "no header" {
		t.Fatalf("empty ad: Open = %q, %v", got, err)
	}
}

// TestV2HeaderBound: a payload sealed under one header opens under no other,
// so it cannot be replayed with another seq, type or flags, nor moved to
// another session.
func TestV2HeaderBound(t *testing.T) {
	ss := newSession(t, nil, v2(sidA))
	base := core.Packet{Type: core.TypeData, Seq: 5, HasSeq: true, Session: sidA}
	ad := base.AD()
	sealed, err := ss.client.Seal(nil, []byte("hello, room"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ss.server.Open(nil, sealed, base.AD()); err != nil || string(got) != "hello, room" {
		t.Fatalf("same header: Open = %q, %v", got, err)
	}
	// The payload is not part of the header: the same header with another
	// payload field binds the same.
	withPayload := base
	withPayload.Payload = sealed
	if _, err := ss.server.Open(nil, sealed, withPayload.AD()); err != nil {
		t.Fatalf("AD depends on Payload: %v", err)
	}

	other := func(f func(p *core.Packet)) []byte {
		p := base
		f(&p)
		return p.AD()
	}
	for _, tc := range []struct {
		name string
		ad   []byte
	}{
		{"next seq", other(func(p *core.Packet) { p.Seq = 6 })},
		{"earlier seq", other(func(p *core.Packet) { p.Seq = 4 })},
		{"seq high bit", other(func(p *core.Packet) { p.Seq |= 1 << 63 })},
		{"no seq", other(func(p *core.Packet) { p.HasSeq = false; p.Seq = 0 })},
		{"seq flag dropped", other(func(p *core.Packet) { p.HasSeq = false })},
		{"as ACK", other(func(p *core.Packet) { p.Type = core.TypeAck })},
		{"as PING", other(func(p *core.Packet) { p.Type = core.TypePing })},
		{"as BYE", other(func(p *core.Packet) { p.Type = core.TypeBye })},
		{"ack_seq added", other(func(p *core.Packet) { p.HasAckSeq = true })},
		{"ack_seq value", other(func(p *core.Packet) { p.HasAckSeq = true; p.AckSeq = 5 })},
		{"another session", other(func(p *core.Packet) { p.Session = sidB })},
		{"session 0 (v1 header)", other(func(p *core.Packet) { p.Session = 0 })},
		{"nil ad", nil},
		{"ad plus a byte", append(bytes.Clone(ad), 0)},
		{"ad minus a byte", ad[:len(ad)-1]},
		// The length prefix: moving the IV's first byte into ad must not
		// give the same MAC input.
		{"ad plus the IV's first byte", append(bytes.Clone(ad), sealed[32])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustFail(t, tc.name, ss.server, sealed, tc.ad)
		})
	}
}

// TestV2Directional: what a side seals only the other side opens, so a payload
// cannot be reflected back to its sender.
func TestV2Directional(t *testing.T) {
	ss := newSession(t, nil, v2(sidA))
	ciphertest.TestDirectional(t, ss.client, ss.server)
}

// TestV2SessionIDSalts: the same K and the same handshake payloads under
// another session id give other keys.
func TestV2SessionIDSalts(t *testing.T) {
	k := keyK()
	a := newSession(t, k, v2(sidA))
	// Same reply, so same K and transcript: only the salt differs.
	clientB, err := a.in.Finish(a.reply, v2(sidB))
	if err != nil {
		t.Fatal(err)
	}
	// And a whole second handshake with the same K under sidB.
	b := newSession(t, k, v2(sidB))

	ad := []byte("the same header for all") // keep ad out of it
	fromA, err := a.server.Seal(nil, []byte("for A"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.Open(nil, fromA, ad); err != nil {
		t.Fatalf("A's client: %v", err)
	}
	mustFail(t, "A's seal on the same handshake under sidB", clientB, fromA, ad)
	mustFail(t, "A's seal on session B", b.client, fromA, ad)

	fromB, err := b.client.Seal(nil, []byte("for B"), ad)
	if err != nil {
		t.Fatal(err)
	}
	mustFail(t, "B's seal on session A", a.server, fromB, ad)
	if _, err := b.server.Open(nil, fromB, ad); err != nil {
		t.Fatalf("B's server: %v", err)
	}

	// Session id 0 is a salt like any other, not "no salt".
	zero, err := a.in.Finish(a.reply, v2(0))
	if err != nil {
		t.Fatal(err)
	}
	mustFail(t, "A's seal under session id 0", zero, fromA, ad)
}

// TestV2TranscriptBound: the keys depend on both payloads, byte for byte, not
// only on K.
func TestV2TranscriptBound(t *testing.T) {
	k := keyK()
	a := newSession(t, k, v2(sidA))
	b := newSession(t, k, v2(sidA)) // same K, same sid, another OAEP seed
	if bytes.Equal(a.reply, b.reply) {
		t.Fatal("two OAEP wrappings of K are identical; the test proves nothing")
	}
	ad := dataAD(sidA, 1)
	sealed, err := a.server.Seal(nil, []byte("x"), ad)
	if err != nil {
		t.Fatal(err)
	}
	mustFail(t, "same K and sid, another reply", b.client, sealed, ad)

	// The hello as the server received it, not the key it holds: a hello
	// with a trailing newline is the same RSA key (v1 works) but another
	// transcript.
	var s seed.Suite
	hello := append(a.in.Hello(), '\n')
	reply, server, err := s.Respond(fixedKey(k), hello, v2(sidA))
	if err != nil {
		t.Fatal(err)
	}
	client, err := a.in.Finish(reply, v2(sidA))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err = server.Seal(nil, []byte("x"), ad)
	if err != nil {
		t.Fatal(err)
	}
	mustFail(t, "hello respelled", client, sealed, ad)
}

// TestV1V2NotInterchangeable: the keys a handshake gives in v1 and in v2 open
// nothing of each other's.
func TestV1V2NotInterchangeable(t *testing.T) {
	k := keyK()
	ss := newSession(t, k, v2(sidA))
	v1Client, err := ss.in.Finish(ss.reply, v1)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := seed.NewSessionKeys(k)
	if err != nil {
		t.Fatal(err)
	}
	// v1Client is raw: same K.
	probe, _ := raw.Seal(nil, []byte("probe"), nil)
	if _, err := v1Client.Open(nil, probe, nil); err != nil {
		t.Fatalf("v1 keys from the handshake are not K: %v", err)
	}

	ad := dataAD(sidA, 0)
	fromV2, err := ss.server.Seal(nil, []byte("v2"), ad)
	if err != nil {
		t.Fatal(err)
	}
	fromV1, err := raw.Seal(nil, []byte("v1"), ad)
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range [][]byte{ad, nil} {
		mustFail(t, "v2 payload, v1 keys", v1Client, fromV2, ad)
		mustFail(t, "v1 payload, v2 client", ss.client, fromV1, ad)
		mustFail(t, "v1 payload, v2 server", ss.server, fromV1, ad)
	}
}

func TestVersions(t *testing.T) {
	k := keyK()
	raw, err := seed.NewSessionKeys(k)
	if err != nil {
		t.Fatal(err)
	}
	// Version 0 is version 1: the seed's construction under K, ad ignored,
	// Tag the MAC tag; and the session id plays no part.
	for _, hs := range []core.Handshake{{}, v1, {Version: 1, SessionID: sidA}} {
		t.Run(fmt.Sprintf("v%d sid %x", hs.Version, hs.SessionID), func(t *testing.T) {
			ss := newSession(t, k, hs)
			for _, keys := range []core.SessionKeys{ss.server, ss.client} {
				sealed, err := raw.Seal(nil, []byte("seed"), nil)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := keys.Open(nil, sealed, []byte("any header")); err != nil || string(got) != "seed" {
					t.Errorf("Open = %q, %v", got, err)
				}
				if tag := keys.Tag(sealed); !bytes.Equal(tag, sealed[:32]) {
					t.Errorf("Tag = %x, want %x", tag, sealed[:32])
				}
				sealed, err = keys.Seal(nil, []byte("back"), dataAD(sidA, 1))
				if err != nil {
					t.Fatal(err)
				}
				if got, err := raw.Open(nil, sealed, nil); err != nil || string(got) != "back" {
					t.Errorf("raw Open = %q, %v", got, err)
				}
			}
		})
	}

	// Anything else is refused, before any RSA work or randomness.
	_, priv := loadVectors(t)
	in, err := seed.NewInitiatorFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	good := newSession(t, nil, v1)
	var s seed.Suite
	for _, v := range []uint8{3, 4, 255} {
		hs := core.Handshake{Version: v, SessionID: sidA}
		want := fmt.Sprintf("protocol version %d not supported", v)
		reply, keys, err := s.Respond(failingReader{}, in.Hello(), hs)
		if err == nil || reply != nil || keys != nil {
			t.Errorf("Respond v%d: reply %x, keys %v, err %v", v, reply, keys, err)
		} else if !strings.HasPrefix(err.Error(), "cipher/seed: respond: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("Respond v%d: err = %q, want it to say %q", v, err, want)
		}
		keys, err = in.Finish(good.reply, hs)
		if err == nil || keys != nil {
			t.Errorf("Finish v%d: keys %v, err %v", v, keys, err)
		} else if !strings.HasPrefix(err.Error(), "cipher/seed: finish: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("Finish v%d: err = %q, want it to say %q", v, err, want)
		} else if errors.Is(err, core.ErrAuth) {
			t.Errorf("Finish v%d: %q matches ErrAuth, but the reply is not at fault", v, err)
		}
	}
}

// v2Keys derives the four version 2 keys from the construction as doc.go
// states it, independently of the package (hkdf.Key per key rather than one
// Extract and four Expands).
func v2Keys(t *testing.T, k, hello, reply []byte, sid uint64) (c2sEnc, c2sMAC, s2cEnc, s2cMAC []byte) {
	t.Helper()
	salt := binary.BigEndian.AppendUint64(nil, sid)
	th := sha256.Sum256(append(append(binary.BigEndian.AppendUint64(nil, uint64(len(hello))), hello...), reply...))
	key := func(label string, n int) []byte {
		b, err := hkdf.Key(sha256.New, k, salt, "udpchat v2 rsa-aes-cbc-hmac "+label+string(th[:]), n)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return key("c2s-enc", 16), key("c2s-mac", 32), key("s2c-enc", 16), key("s2c-mac", 32)
}

// v2MAC is HMAC-SHA256(key, uint64be(len(ad)) || ad || IV || CT).
func v2MAC(key, ad, ivct []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(ad))))
	m.Write(ad)
	m.Write(ivct)
	return m.Sum(nil)
}

// handSeal builds tag || IV || CT by hand, padding with pad (normally the
// PKCS#7 padding of pt).
func handSeal(t *testing.T, enc, mac, ad, pt, pad []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(enc)
	if err != nil {
		t.Fatal(err)
	}
	iv := make([]byte, 16)
	rand.Read(iv)
	ct := append(bytes.Clone(pt), pad...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
	ivct := append(iv, ct...)
	return append(v2MAC(mac, ad, ivct), ivct...)
}

func pkcs7(n int) []byte {
	p := 16 - n%16
	return bytes.Repeat([]byte{byte(p)}, p)
}

// TestV2Construction checks the package against the construction doc.go
// documents (and docs/PROTOCOL.md will), implemented here from the text: what
// a peer built from the document seals, we open, and the other way round.
func TestV2Construction(t *testing.T) {
	k := keyK()
	ss := newSession(t, k, v2(sidA))
	c2sEnc, c2sMAC, s2cEnc, s2cMAC := v2Keys(t, k, ss.hello, ss.reply, sidA)
	ad := dataAD(sidA, 42)
	pt := []byte("built from the document")

	// A document-built client to our server.
	sealed := handSeal(t, c2sEnc, c2sMAC, ad, pt, pkcs7(len(pt)))
	if got, err := ss.server.Open(nil, sealed, ad); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("server: Open of a document-built payload = %q, %v", got, err)
	}
	// A document-built server to our client.
	sealed = handSeal(t, s2cEnc, s2cMAC, ad, pt, pkcs7(len(pt)))
	if got, err := ss.client.Open(nil, sealed, ad); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("client: Open of a document-built payload = %q, %v", got, err)
	}

	// Our seals, checked and opened by the document.
	for _, dir := range []struct {
		name     string
		from     core.SessionKeys
		enc, mac []byte
	}{{"server", ss.server, s2cEnc, s2cMAC}, {"client", ss.client, c2sEnc, c2sMAC}} {
		sealed, err := dir.from.Seal(nil, pt, ad)
		if err != nil {
			t.Fatal(err)
		}
		if !hmac.Equal(sealed[:32], v2MAC(dir.mac, ad, sealed[32:])) {
			t.Fatalf("%s: tag is not HMAC-SHA256(mac key, len(ad) || ad || IV || CT)", dir.name)
		}
		block, _ := aes.NewCipher(dir.enc)
		got := make([]byte, len(sealed)-48)
		cipher.NewCBCDecrypter(block, sealed[32:48]).CryptBlocks(got, sealed[48:])
		if want := append(bytes.Clone(pt), pkcs7(len(pt))...); !bytes.Equal(got, want) {
			t.Fatalf("%s: decrypted %q, want %q", dir.name, got, want)
		}
	}

	// A bad padding under a good tag is refused after the tag check.
	sealed = handSeal(t, c2sEnc, c2sMAC, ad, make([]byte, 15), []byte{2})
	if _, err := ss.server.Open(nil, sealed, ad); !errors.Is(err, core.ErrAuth) || !strings.Contains(err.Error(), "bad padding") {
		t.Errorf("bad padding: err = %v", err)
	}
}

func TestV2OpenRejectsShapes(t *testing.T) {
	ss := newSession(t, nil, v2(sidA))
	ad := dataAD(sidA, 0)
	good, err := ss.client.Seal(nil, []byte("sixteen bytes!!!"), ad)
	if err != nil {
		t.Fatal(err)
	}
	testOpenRejects(t, ss.server, ad, append(shapeRejects(good),
		rejectCase{"tag bit", flipped(good, 0, 1), "bad tag"},
		rejectCase{"last bit", flipped(good, len(good)-1, 0x80), "bad tag"},
	))
}

// TestV2AppendSemantics: as in v1, plus an ad that lives in dst's spare
// capacity, which Seal must read before it writes there.
func TestV2AppendSemantics(t *testing.T) {
	ss := newSession(t, nil, v2(sidA))
	pt := []byte("hello, world, this spans two blocks")
	ad := dataAD(sidA, 9)

	buf := make([]byte, len(pt), 300)
	copy(buf, pt)
	inPlace, err := ss.client.Seal(buf[:0], buf, ad)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ss.server.Open(inPlace[:0], inPlace, ad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("in place: Open = %q, %v", got, err)
	}

	buf = make([]byte, 0, 300)
	adInDst := buf[40 : 40+len(ad)]
	copy(adInDst, ad)
	sealed, err := ss.client.Seal(buf, pt, adInDst)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ss.server.Open([]byte("pre"), sealed, ad); err != nil || string(got) != "pre"+string(pt) {
		t.Fatalf("ad in dst: Open = %q, %v", got, err)
	}
}

func TestV2Concurrent(t *testing.T) {
	ss := newSession(t, nil, v2(sidA))
	ciphertest.TestConcurrent(t, ss.client, ss.server)
}
