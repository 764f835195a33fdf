package modern_test

import (
	"fmt"
	"testing"

	"github.com/udpchat/udpchat/core"
)

// benchSizes are the plaintexts the benchmarks seal: a chat line and a
// kilobyte.
var benchSizes = []int{64, 1024}

// BenchmarkSeal and BenchmarkOpen measure the per-message cost of the suite,
// as docs/PERFORMANCE.md reports it. dst has room, as the engine's buffers
// do.
func BenchmarkSeal(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			_, server, _, _ := handshake(b, hs2)
			plain := make([]byte, n)
			a := ad(7)
			dst := make([]byte, 0, core.MaxDatagram)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := server.Seal(dst[:0], plain, a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dB", n), func(b *testing.B) {
			client, server, _, _ := handshake(b, hs2)
			a := ad(7)
			sealed := seal(b, server, make([]byte, n), a)
			dst := make([]byte, 0, core.MaxDatagram)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := client.Open(dst[:0], sealed, a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSealParallel seals from every P under one key, as a client's
// sender and receiver share their keys.
func BenchmarkSealParallel(b *testing.B) {
	_, server, _, _ := handshake(b, hs2)
	a := ad(7)
	b.ReportAllocs()
	b.SetBytes(64)
	b.RunParallel(func(pb *testing.PB) {
		plain := make([]byte, 64)
		dst := make([]byte, 0, core.MaxDatagram)
		for pb.Next() {
			if _, err := server.Seal(dst[:0], plain, a); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
