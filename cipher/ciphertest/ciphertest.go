// Package ciphertest is the conformance suite of core.Suite, as
// testing/fstest is for file systems: exported functions that any cipher
// suite, ours or a third party's, calls from its own tests to be held to
// the contract in core/suite.go, and the benchmarks that measure every
// suite alike for docs/PERFORMANCE.md.
//
//	func TestSuite(t *testing.T) { ciphertest.TestSuite(t, mysuite.Suite{}) }
//
// TestSuite runs a handshake for each protocol version the suite speaks
// and holds the keys to the contract with TestKeys: they open each other's
// seals in both directions, Overhead is exact, tampering with the sealed
// bytes (or, where the suite binds it, the associated data) fails with an
// error matching core.ErrAuth, Tag behaves as documented, and the suite
// and its keys may be used from several goroutines at once.
package ciphertest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/udpchat/udpchat/core"
)

// Versions are the protocol versions there are: a suite speaks those from
// its MinVersion (1 without core.MinVersioner) on.
var Versions = []uint8{1, 2}

// minVersion is the lowest protocol version s speaks.
func minVersion(s core.Suite) uint8 {
	if mv, ok := s.(core.MinVersioner); ok {
		return mv.MinVersion()
	}
	return 1
}

// handshake returns the handshake TestSuite keys a session of version v
// with: a session id wider than 53 bits, as the server draws them.
func handshake(v uint8) core.Handshake {
	return core.Handshake{Version: v, SessionID: 0x0123456789abcdef}
}

// AD is the associated data the suite's checks and benchmarks seal under:
// the header of a version 2 DATA with seq.
func AD(seq uint64) []byte {
	p := core.Packet{Type: core.TypeData, Session: 0x0123456789abcdef, Seq: seq, HasSeq: true}
	return p.AD()
}

// TestSuite runs the conformance suite of core.Suite against s, for each of
// versions (by default every one of Versions that s speaks), each version a
// subtest: a handshake from s.NewInitiator, checked by TestHandshake, whose
// keys TestKeys checks. Versions below s's MinVersion must be refused.
func TestSuite(t *testing.T, s core.Suite, versions ...uint8) {
	if s.Name() == "" {
		t.Error("Name() is empty")
	}
	if len(versions) == 0 {
		for _, v := range Versions {
			if v >= minVersion(s) {
				versions = append(versions, v)
			}
		}
	}
	for v := uint8(1); v < minVersion(s); v++ {
		t.Run(fmt.Sprintf("v%d refused", v), func(t *testing.T) {
			in, err := s.NewInitiator(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Respond(rand.Reader, in.Hello(), handshake(v)); err == nil {
				t.Errorf("Respond keyed a session of version %d, below MinVersion %d", v, minVersion(s))
			}
		})
	}
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			in, err := s.NewInitiator(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			client, server := TestHandshake(t, s, in, v)
			TestKeys(t, s, client, server, v)
			testBadReply(t, s, v)
		})
	}
}

// testBadReply: Finish refuses a reply cut short, and refuses, or keys
// nothing that talks to the server, a reply with a byte changed (anyone on
// the path can send a KEY_REP). An initiator may finish once only, so this
// takes one of its own.
func testBadReply(t *testing.T, s core.Suite, v uint8) {
	in, err := s.NewInitiator(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hs := handshake(v)
	reply, server, err := s.Respond(rand.Reader, in.Hello(), hs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Finish(reply[:len(reply)/2], hs); err == nil {
		t.Errorf("Finish accepted a reply cut to %d of %d bytes", len(reply)/2, len(reply))
	}
	bad := bytes.Clone(reply)
	bad[len(bad)/2] ^= 0x80
	keys, err := in.Finish(bad, hs)
	if err != nil {
		return
	}
	if _, err := keys.Open(nil, seal(t, server, []byte("from the server"), AD(1)), AD(1)); err == nil {
		t.Error("Finish of a reply with a byte changed keyed a session that opens the server's seal")
	}
}

// TestHandshake runs a handshake of version v between in and s and checks
// it: Hello is the same on every call, whatever the caller did with an
// earlier one; Respond refuses what is no hello; a second Respond to the same hello keys another session; and Respond may
// be called from several goroutines at once. It returns the client's and
// the server's keys.
func TestHandshake(t *testing.T, s core.Suite, in core.Initiator, v uint8) (client, server core.SessionKeys) {
	t.Helper()
	hs := handshake(v)
	hello := in.Hello()
	clear(in.Hello()) // the caller owns what Hello returns
	if again := in.Hello(); !bytes.Equal(again, hello) || len(hello) == 0 {
		t.Fatalf("Hello changed between calls (%d bytes, then %d)", len(hello), len(again))
	}
	for _, bad := range [][]byte{nil, []byte("not a hello"), hello[:len(hello)/2]} {
		if _, _, err := s.Respond(rand.Reader, bad, hs); err == nil {
			t.Errorf("Respond accepted a hello of %d bytes that is none", len(bad))
		}
	}

	reply, server, err := s.Respond(rand.Reader, hello, hs)
	if err != nil {
		t.Fatalf("Respond: %v", err)
	}
	client, err = in.Finish(reply, hs)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}

	var wg sync.WaitGroup
	others := make([]core.SessionKeys, 4)
	for i := range others {
		wg.Go(func() {
			_, keys, err := s.Respond(rand.Reader, hello, hs)
			if err != nil {
				t.Errorf("concurrent Respond: %v", err)
				return
			}
			others[i] = keys
		})
	}
	wg.Wait()
	for _, other := range others {
		if other == nil {
			continue
		}
		if _, err := client.Open(nil, seal(t, other, []byte("another session"), AD(1)), AD(1)); !errors.Is(err, core.ErrAuth) {
			t.Errorf("the client opened the seal of another session to the same hello: err = %v, want ErrAuth", err)
		}
	}
	return client, server
}

func seal(t testing.TB, k core.SessionKeys, plain, ad []byte) []byte {
	t.Helper()
	sealed, err := k.Seal(nil, plain, ad)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return sealed
}

// plaintexts are the lengths TestKeys seals: empty, around a block, a chat
// line, and about the most a datagram carries.
var plaintexts = []int{0, 1, 15, 16, 17, 31, 32, 33, 64, 1000, 4000}

// TestKeys holds client and server, the two sides of one session of
// protocol version v keyed by s, to the contract of core.SessionKeys, each
// part a subtest: TestRoundTrip, TestTampered, from version 2 (which
// binds the header and has keys per direction) TestHeaderBound and
// TestDirectional, TestTag and TestConcurrent.
func TestKeys(t *testing.T, s core.Suite, client, server core.SessionKeys, v uint8) {
	t.Run("RoundTrip", func(t *testing.T) { TestRoundTrip(t, s, client, server) })
	t.Run("Tampered", func(t *testing.T) { TestTampered(t, client, server) })
	if v >= 2 {
		t.Run("HeaderBound", func(t *testing.T) { TestHeaderBound(t, client, server) })
		t.Run("Directional", func(t *testing.T) { TestDirectional(t, client, server) })
	}
	t.Run("Tag", func(t *testing.T) { TestTag(t, client, server) })
	t.Run("Concurrent", func(t *testing.T) { TestConcurrent(t, client, server) })
}

// direction is one way of a session, named.
type direction struct {
	name     string
	from, to core.SessionKeys
}

// directions are both ways of a session.
func directions(client, server core.SessionKeys) []direction {
	return []direction{{"client to server", client, server}, {"server to client", server, client}}
}

// TestRoundTrip checks that each side opens what the other sealed, of
// every length from empty to about the most a datagram carries; that Seal
// and Open append to dst; and that len(sealed) is n+s.Overhead(n) exactly.
func TestRoundTrip(t *testing.T, s core.Suite, client, server core.SessionKeys) {
	ad := AD(7)
	for _, dir := range directions(client, server) {
		for _, n := range plaintexts {
			plain := make([]byte, n)
			for i := range plain {
				plain[i] = byte(i*7 + n)
			}
			got, err := dir.from.Seal([]byte("dst:"), plain, ad)
			if err != nil {
				t.Fatalf("%s: Seal of %d bytes: %v", dir.name, n, err)
			}
			if string(got[:4]) != "dst:" {
				t.Fatalf("%s: Seal clobbered dst: %q", dir.name, got[:4])
			}
			sealed := got[4:]
			if len(sealed) != n+s.Overhead(n) {
				t.Errorf("%s: %d bytes sealed to %d, Overhead says %d", dir.name, n, len(sealed), n+s.Overhead(n))
			}
			opened, err := dir.to.Open([]byte("dst:"), sealed, ad)
			if err != nil {
				t.Fatalf("%s: Open of %d bytes: %v", dir.name, n, err)
			}
			if string(opened[:4]) != "dst:" || !bytes.Equal(opened[4:], plain) {
				t.Fatalf("%s: Open of %d bytes gives %x", dir.name, n, opened)
			}
		}
	}
}

// opensNot checks that to refuses sealed under ad as not authentic.
func opensNot(t *testing.T, to core.SessionKeys, what string, sealed, ad []byte) {
	t.Helper()
	if got, err := to.Open(nil, sealed, ad); !errors.Is(err, core.ErrAuth) {
		t.Errorf("%s: Open = %q, %v; want an error matching core.ErrAuth", what, got, err)
	}
}

// TestTampered checks, both ways, that a sealing with any bit of a byte
// changed, cut short or grown by a byte fails to open with an error
// matching core.ErrAuth.
func TestTampered(t *testing.T, client, server core.SessionKeys) {
	ad := AD(7)
	for _, dir := range directions(client, server) {
		sealed := seal(t, dir.from, []byte("a message of some length"), ad)
		for i := range sealed {
			for _, bit := range []byte{0x01, 0x80} {
				bad := bytes.Clone(sealed)
				bad[i] ^= bit
				opensNot(t, dir.to, fmt.Sprintf("%s: byte %d xor %#x", dir.name, i, bit), bad, ad)
			}
		}
		for n := range len(sealed) {
			opensNot(t, dir.to, fmt.Sprintf("%s: cut to %d bytes", dir.name, n), sealed[:n], ad)
		}
		opensNot(t, dir.to, dir.name+": a byte more", append(slices.Clip(sealed), 0), ad)
	}
}

// TestHeaderBound checks, both ways, that a sealing opens under no other
// associated data than its own (none, another seq, any byte of the header
// changed, the header cut short): the binding of protocol version 2.
func TestHeaderBound(t *testing.T, client, server core.SessionKeys) {
	ad := AD(7)
	for _, dir := range directions(client, server) {
		sealed := seal(t, dir.from, []byte("a message of some length"), ad)
		for _, bad := range [][]byte{nil, AD(8), AD(math.MaxUint64), ad[:core.ADLen-1]} {
			opensNot(t, dir.to, fmt.Sprintf("%s: under associated data %x", dir.name, bad), sealed, bad)
		}
		for i := range ad {
			bad := bytes.Clone(ad)
			bad[i] ^= 1
			opensNot(t, dir.to, fmt.Sprintf("%s: associated data byte %d changed", dir.name, i), sealed, bad)
		}
	}
}

// TestDirectional checks that neither side opens what it sealed itself, so
// that a payload cannot be reflected back to its sender: the keys per
// direction of protocol version 2.
func TestDirectional(t *testing.T, client, server core.SessionKeys) {
	for name, k := range map[string]core.SessionKeys{"client": client, "server": server} {
		opensNot(t, k, "the "+name+"'s own seal", seal(t, k, []byte("echo"), AD(7)), AD(7))
	}
}

// TestTag checks Tag as core.SessionKeys documents it: where a sealing
// opens under other associated data the header is not bound, and Tag must
// be a copy of an identifier unique per sealing, the same on every call;
// where it does not, Tag is nil.
func TestTag(t *testing.T, client, server core.SessionKeys) {
	a := seal(t, client, []byte("same"), AD(1))
	b := seal(t, client, []byte("same"), AD(1))
	_, err := server.Open(nil, a, AD(2))
	bound := err != nil
	ta, tb := server.Tag(a), server.Tag(b)
	if bound {
		if ta != nil || tb != nil {
			t.Errorf("the header is bound, and Tag = %x, want nil", ta)
		}
		return
	}
	if ta == nil || tb == nil {
		t.Fatal("the header is not bound, and Tag is nil")
	}
	if bytes.Equal(ta, tb) {
		t.Errorf("two sealings of the same plaintext have the same Tag %x", ta)
	}
	if !bytes.Equal(server.Tag(a), ta) {
		t.Errorf("Tag of one sealing differs between calls")
	}
	clear(a) // the engine keeps tags after the datagram's buffer is reused
	if bytes.Equal(ta, make([]byte, len(ta))) {
		t.Errorf("Tag aliases the sealing")
	}
}

// TestConcurrent seals and opens in both directions from several
// goroutines at once, as a session's sender and receiver do (the race
// detector checks the rest).
func TestConcurrent(t *testing.T, client, server core.SessionKeys) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			from, to := client, server
			if g%2 == 1 {
				from, to = server, client
			}
			for i := range 50 {
				plain := fmt.Appendf(nil, "goroutine %d message %d", g, i)
				sealed, err := from.Seal(nil, plain, AD(uint64(i)))
				if err != nil {
					t.Errorf("concurrent Seal: %v", err)
					return
				}
				if got, err := to.Open(nil, sealed, AD(uint64(i))); err != nil || !bytes.Equal(got, plain) {
					t.Errorf("concurrent Open = %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
