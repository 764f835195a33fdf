package seed_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"

	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
)

// TestNoAllocs: with room in dst, Seal and Open allocate nothing, in either
// version; the per-session state is built once, at the handshake.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, v := range []int{1, 2} {
		t.Run(fmt.Sprint("v", v), func(t *testing.T) {
			from, to := benchKeysT(t, v)
			ad := dataAD(sidA, 3)
			pt := bytes.Repeat([]byte("x"), 100)
			sealed, err := from.Seal(nil, pt, ad)
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]byte, 0, 512)
			if n := testing.AllocsPerRun(100, func() {
				if _, err := from.Seal(dst[:0], pt, ad); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("Seal: %v allocations, want 0", n)
			}
			if n := testing.AllocsPerRun(100, func() {
				if _, err := to.Open(dst[:0], sealed, ad); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("Open: %v allocations, want 0", n)
			}
		})
	}
}

func benchKeysT(t *testing.T, version int) (seal, open core.SessionKeys) {
	t.Helper()
	if version == 1 {
		return newKeys(t), newKeys(t)
	}
	ss := newSession(t, keyK(), v2(sidA))
	return ss.server, ss.client
}

// TestOpenOverlaps opens a sealing whose bytes sit in every position
// relative to dst's spare capacity, in one buffer: before it, at its start,
// a little and a block or more after its start, and well past it; and, the
// other way, starting before it (the in-place idiom) by a little and by a
// block or more. Each must give the plaintext and leave dst's
// prefix alone.
func TestOpenOverlaps(t *testing.T) {
	keys := newKeys(t)
	pt := []byte("three blocks of plaintext, more or less, to chain")
	sealed, err := keys.Seal(nil, pt, nil)
	if err != nil {
		t.Fatal(err)
	}
	const pre = "pre"
	for _, shift := range []int{-80, -49, -48, -47, -33, -17, -16, -15, -1, 0, 1, 15, 16, 17, 47, 48, 200} {
		t.Run(fmt.Sprint(shift), func(t *testing.T) {
			buf := make([]byte, 600)
			base := 250 // where dst's spare capacity starts
			copy(buf, pre)
			dst := buf[base-len(pre) : base : len(buf)]
			copy(dst, pre)
			at := base + shift
			in := buf[at : at+len(sealed)]
			copy(in, sealed)
			prefix := string(dst) // "pre", or the end of the sealing lying over it
			got, err := keys.Open(dst, in, nil)
			if err != nil || string(got) != prefix+string(pt) {
				t.Fatalf("Open = %q, %v", got, err)
			}
		})
	}
}

// TestSealOverlaps seals a plaintext that sits in dst's spare capacity, at
// several shifts, which Seal must read before it overwrites it.
func TestSealOverlaps(t *testing.T) {
	keys := newKeys(t)
	pt := []byte("three blocks of plaintext, more or less, to chain")
	for _, shift := range []int{0, 1, 16, 48, 49, 64, 100} {
		t.Run(fmt.Sprint(shift), func(t *testing.T) {
			buf := make([]byte, 400)
			in := buf[shift : shift+len(pt)]
			copy(in, pt)
			sealed, err := keys.Seal(buf[:0], in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := keys.Open(nil, sealed, nil); err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Open = %q, %v", got, err)
			}
		})
	}
}

// TestTagIsHMAC checks the version 1 tag against crypto/hmac, for plaintexts
// of many lengths, many times over the same keys, so that a pooled hash
// state that kept anything from an earlier message would show.
func TestTagIsHMAC(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	keys, err := seed.NewSessionKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 200 {
		sealed, err := keys.Seal(nil, bytes.Repeat([]byte{byte(n)}, n), nil)
		if err != nil {
			t.Fatal(err)
		}
		m := hmac.New(sha256.New, key)
		m.Write(sealed[32:])
		if !hmac.Equal(sealed[:32], m.Sum(nil)) {
			t.Fatalf("%d bytes: tag is not HMAC-SHA256(K, IV||CT)", n)
		}
	}
}

// TestConcurrentMixed seals and opens in both directions of one version 2
// session and under a version 1 key at once, with plaintexts of different
// lengths, so that the pooled hash states pass between sessions, directions
// and goroutines (run it with -race).
func TestConcurrentMixed(t *testing.T) {
	ss := newSession(t, nil, v2(sidB))
	v1keys := newKeys(t)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			from, to := ss.client, ss.server
			switch g % 3 {
			case 1:
				from, to = to, from
			case 2:
				from, to = v1keys, v1keys
			}
			dst := make([]byte, 0, 2048)
			for i := range 300 {
				pt := bytes.Repeat([]byte{byte(g)}, (g*37+i*11)%700)
				ad := dataAD(sidB, uint64(i))
				sealed, err := from.Seal(dst[:0], pt, ad)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := to.Open(nil, sealed, ad)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("goroutine %d message %d: Open = %d bytes, %v", g, i, len(got), err)
					return
				}
			}
		})
	}
	wg.Wait()
}
