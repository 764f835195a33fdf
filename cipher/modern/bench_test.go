package modern_test

import (
	"testing"

	"github.com/udpchat/udpchat/core/coretest"
)

// The per-message cost of the suite, as docs/PERFORMANCE.md reports it.

func BenchmarkSeal(b *testing.B) {
	_, server, _, _ := handshake(b, hs2)
	coretest.BenchmarkSeal(b, "", server, ad(7))
}

func BenchmarkOpen(b *testing.B) {
	client, server, _, _ := handshake(b, hs2)
	coretest.BenchmarkOpen(b, "", server, client, ad(7))
}

func BenchmarkSealParallel(b *testing.B) {
	_, server, _, _ := handshake(b, hs2)
	coretest.BenchmarkSealParallel(b, server, ad(7))
}
