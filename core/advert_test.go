package core_test

import (
	"testing"

	"github.com/udpchat/udpchat/core"
)

// TestWindowAdvert: an advertisement reads back as written, and any other
// plaintext of an ACK (an older client's empty one, a later version's
// longer one) advertises nothing.
func TestWindowAdvert(t *testing.T) {
	for _, n := range []uint32{0, 1, 128, 1<<32 - 1} {
		b := core.AppendWindowAdvert(nil, n)
		if len(b) != core.WindowAdvertLen {
			t.Fatalf("advertisement of %d is %d bytes", n, len(b))
		}
		if got, ok := core.ParseWindowAdvert(b); !ok || got != n {
			t.Fatalf("advertised %d, read %d, %v", n, got, ok)
		}
	}
	for _, plain := range [][]byte{nil, {}, {0, 0, 1}, {0, 0, 0, 1, 0}} {
		if n, ok := core.ParseWindowAdvert(plain); ok {
			t.Errorf("plaintext %x advertises %d", plain, n)
		}
	}
}
