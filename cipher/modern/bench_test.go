package modern_test

import (
	"testing"

	"github.com/udpchat/udpchat/cipher/ciphertest"
)

// The per-message cost of the suite, as docs/PERFORMANCE.md reports it.

func BenchmarkSeal(b *testing.B) {
	_, server, _, _ := handshake(b, hs2)
	ciphertest.BenchmarkSeal(b, "", server, ad(7))
}

func BenchmarkOpen(b *testing.B) {
	client, server, _, _ := handshake(b, hs2)
	ciphertest.BenchmarkOpen(b, "", server, client, ad(7))
}

func BenchmarkSealParallel(b *testing.B) {
	_, server, _, _ := handshake(b, hs2)
	ciphertest.BenchmarkSealParallel(b, server, ad(7))
}
