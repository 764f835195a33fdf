package seed_test

import (
	"fmt"
	"testing"

	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
)

// benchSizes are the plaintexts the benchmarks seal: a chat line and a
// kilobyte.
var benchSizes = []int{64, 1024}

// benchKeys returns a sealer and the matching opener: the one version 1 key
// for both, or the two sides of a version 2 session.
func benchKeys(b *testing.B, version int) (seal, open core.SessionKeys) {
	b.Helper()
	if version == 1 {
		keys, err := seed.NewSessionKeys(make([]byte, 16))
		if err != nil {
			b.Fatal(err)
		}
		return keys, keys
	}
	ss := newSession(b, keyK(), v2(sidA))
	return ss.server, ss.client
}

// BenchmarkSeal and BenchmarkOpen measure the per-message cost of the suite,
// in protocol versions 1 and 2, for a 64-byte and a 1 KiB plaintext, as
// docs/PERFORMANCE.md reports it. dst has room, as the engine's buffers do.
func BenchmarkSeal(b *testing.B) {
	for _, v := range []int{1, 2} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("v%d/%dB", v, n), func(b *testing.B) {
				keys, _ := benchKeys(b, v)
				plain := make([]byte, n)
				ad := dataAD(sidA, 7)
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
}

func BenchmarkOpen(b *testing.B) {
	for _, v := range []int{1, 2} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("v%d/%dB", v, n), func(b *testing.B) {
				from, to := benchKeys(b, v)
				ad := dataAD(sidA, 7)
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
}

// BenchmarkSealParallel seals a 64-byte plaintext from every P under one
// key, as a client's sender and receiver share their keys, to show that the
// per-session state does not serialise them.
func BenchmarkSealParallel(b *testing.B) {
	keys, _ := benchKeys(b, 2)
	ad := dataAD(sidA, 7)
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
