package seed_test

import (
	"testing"

	"github.com/udpchat/udpchat/cipher/seed"
)

// BenchmarkSeal and BenchmarkOpen measure the per-message cost of the suite
// for a 64-byte plaintext, as docs/PERFORMANCE.md reports it.
func BenchmarkSeal(b *testing.B) {
	keys, err := seed.NewSessionKeys(make([]byte, 16))
	if err != nil {
		b.Fatal(err)
	}
	plain := make([]byte, 64)
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		if _, err := keys.Seal(dst[:0], plain, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	keys, err := seed.NewSessionKeys(make([]byte, 16))
	if err != nil {
		b.Fatal(err)
	}
	sealed, err := keys.Seal(nil, make([]byte, 64), nil)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(64)
	for b.Loop() {
		if _, err := keys.Open(dst[:0], sealed, nil); err != nil {
			b.Fatal(err)
		}
	}
}
