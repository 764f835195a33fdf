package json

import (
	"encoding/binary"
	"testing"
)

// TestPlain8 holds plain8 to its definition byte by byte, for every value
// of every byte and every pair of neighbouring bytes (where a borrow from
// one byte into the next could fool it), among plain bytes.
func TestPlain8(t *testing.T) {
	isPlain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	for k := range 7 {
		for c := range 256 {
			for d := range 256 {
				var x [8]byte
				for i := range x {
					x[i] = 'A'
				}
				x[k], x[k+1] = byte(c), byte(d)
				want := isPlain(byte(c)) && isPlain(byte(d))
				if got := plain8(binary.LittleEndian.Uint64(x[:])); got != want {
					t.Fatalf("plain8(%q) = %v", x, got)
				}
			}
		}
	}
}
