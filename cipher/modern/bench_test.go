package modern_test

import (
	"testing"

	"github.com/udpchat/udpchat/codec/codectest"
)

// The per-message cost of the suite, as docs/PERFORMANCE.md reports it.

func BenchmarkSeal(b *testing.B) {
	_, server, _, _ := handshake(b, hs2)
	codectest.BenchmarkSeal(b, "", server, ad(7))
}

func BenchmarkOpen(b *testing.B) {
	client, server, _, _ := handshake(b, hs2)
	codectest.BenchmarkOpen(b, "", server, client, ad(7))
}

func BenchmarkSealParallel(b *testing.B) {
	_, server, _, _ := handshake(b, hs2)
	codectest.BenchmarkSealParallel(b, server, ad(7))
}
