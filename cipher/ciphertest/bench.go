package ciphertest

import (
	"fmt"
	"testing"

	"github.com/udpchat/udpchat/core"
)

// SealSizes are the plaintexts the suite benchmarks seal: a chat line and a
// kilobyte.
var SealSizes = []int{64, 1024}

// BenchmarkSeal measures keys.Seal of each of SealSizes under ad, into a
// buffer with room, as the engines call it; name prefixes the
// sub-benchmarks' names.
func BenchmarkSeal(b *testing.B, name string, keys core.SessionKeys, ad []byte) {
	for _, n := range SealSizes {
		b.Run(fmt.Sprintf("%s%dB", name, n), func(b *testing.B) {
			plain := make([]byte, n)
			dst := make([]byte, 0, core.MaxDatagram)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := keys.Seal(dst[:0], plain, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen measures to.Open of what from sealed, for each of
// SealSizes.
func BenchmarkOpen(b *testing.B, name string, from, to core.SessionKeys, ad []byte) {
	for _, n := range SealSizes {
		b.Run(fmt.Sprintf("%s%dB", name, n), func(b *testing.B) {
			sealed, err := from.Seal(nil, make([]byte, n), ad)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, 0, core.MaxDatagram)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := to.Open(dst[:0], sealed, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSealParallel seals a 64-byte plaintext from every P under one
// key, as a client's sender and receiver share their keys, to show that the
// per-session state does not serialise them.
func BenchmarkSealParallel(b *testing.B, keys core.SessionKeys, ad []byte) {
	b.ReportAllocs()
	b.SetBytes(64)
	b.RunParallel(func(pb *testing.PB) {
		plain := make([]byte, 64)
		dst := make([]byte, 0, core.MaxDatagram)
		for pb.Next() {
			if _, err := keys.Seal(dst[:0], plain, ad); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
