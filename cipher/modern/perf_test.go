package modern_test

import (
	"bytes"
	"fmt"
	"testing"
)

// TestNoAllocs: with room in dst, Seal and Open allocate nothing: the AEADs
// are built once per direction, and nonces live in pooled buffers.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	client, server, _, _ := handshake(t, hs2)
	pt := bytes.Repeat([]byte("x"), 100)
	a := ad(3)
	sealed := seal(t, client, pt, a)
	dst := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := client.Seal(dst[:0], pt, a); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Seal: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := server.Open(dst[:0], sealed, a); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Open: %v allocations, want 0", n)
	}
}

// TestOpenOverlaps opens a sealing whose bytes sit in every position
// relative to dst's spare capacity, in one buffer, and with ad in that
// capacity too. Each must give the plaintext after dst's prefix.
func TestOpenOverlaps(t *testing.T) {
	client, server, _, _ := handshake(t, hs2)
	pt := []byte("a plaintext of some fifty bytes, give or take one")
	a := ad(5)
	sealed := seal(t, client, pt, a)
	for _, shift := range []int{-80, -9, -8, -7, -1, 0, 1, 7, 8, 9, 200} {
		t.Run(fmt.Sprint(shift), func(t *testing.T) {
			buf := make([]byte, 600)
			const base = 250 // where dst's spare capacity starts
			dst := buf[base-3 : base : len(buf)]
			copy(dst, "pre")
			in := buf[base+shift : base+shift+len(sealed)]
			copy(in, sealed)
			prefix := string(dst)
			got, err := server.Open(dst, in, a)
			if err != nil || string(got) != prefix+string(pt) {
				t.Fatalf("Open = %q, %v", got, err)
			}
		})
	}
	t.Run("ad in dst", func(t *testing.T) {
		buf := make([]byte, 0, 300)
		adInDst := buf[10 : 10+len(a)]
		copy(adInDst, a)
		got, err := server.Open(buf, sealed, adInDst)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, %v", got, err)
		}
	})
}

// TestSealOverlaps seals a plaintext, and an ad, that sit in dst's spare
// capacity at several shifts, which Seal must read before it overwrites
// them.
func TestSealOverlaps(t *testing.T) {
	client, server, _, _ := handshake(t, hs2)
	pt := []byte("a plaintext of some fifty bytes, give or take one")
	a := ad(6)
	for _, shift := range []int{0, 1, 7, 8, 9, 40, 100} {
		t.Run(fmt.Sprint(shift), func(t *testing.T) {
			buf := make([]byte, 400)
			in := buf[shift : shift+len(pt)]
			copy(in, pt)
			sealed, err := client.Seal(buf[:0], in, a)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := server.Open(nil, sealed, a); err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Open = %q, %v", got, err)
			}
			adInDst := buf[shift : shift+len(a)]
			copy(adInDst, a)
			sealed, err = client.Seal(buf[:0], pt, adInDst)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := server.Open(nil, sealed, a); err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("ad in dst: Open = %q, %v", got, err)
			}
		})
	}
}
