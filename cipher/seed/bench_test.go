package seed_test

import (
	"testing"

	"github.com/udpchat/udpchat/cipher/ciphertest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
)

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

// The per-message cost of the suite, in protocol versions 1 and 2, as
// docs/PERFORMANCE.md reports it.

func BenchmarkSeal(b *testing.B) {
	for _, v := range []int{1, 2} {
		keys, _ := benchKeys(b, v)
		ciphertest.BenchmarkSeal(b, map[int]string{1: "v1/", 2: "v2/"}[v], keys, dataAD(sidA, 7))
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, v := range []int{1, 2} {
		from, to := benchKeys(b, v)
		ciphertest.BenchmarkOpen(b, map[int]string{1: "v1/", 2: "v2/"}[v], from, to, dataAD(sidA, 7))
	}
}

func BenchmarkSealParallel(b *testing.B) {
	keys, _ := benchKeys(b, 2)
	ciphertest.BenchmarkSealParallel(b, keys, dataAD(sidA, 7))
}
