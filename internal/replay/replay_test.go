package replay

import (
	"encoding/binary"
	"testing"
)

func tag(n uint64) []byte {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint64(b, n)
	return b
}

// TestTagSetEdges: the version 1 replay defence at its edges: a duplicate
// is seen, the oldest tag is forgotten exactly when the ring wraps, and a
// tag too short to key is never taken for a replay.
func TestTagSetEdges(t *testing.T) {
	var s Tags
	tests := []struct {
		name string
		do   func()
		tag  uint64
		seen bool
	}{
		{"empty set", nil, 1, false},
		{"after adding", func() { s.Add(tag(1)) }, 1, true},
		{"another", nil, 2, false},
		{"full: oldest still there", func() {
			for i := uint64(2); i <= Size; i++ {
				s.Add(tag(i))
			}
		}, 1, true},
		{"full: newest there", nil, Size, true},
		{"one more wraps: oldest forgotten", func() { s.Add(tag(Size + 1)) }, 1, false},
		{"second oldest kept", nil, 2, true},
		{"newest kept", nil, Size + 1, true},
	}
	for _, tt := range tests {
		if tt.do != nil {
			tt.do()
		}
		if got := s.Seen(tag(tt.tag)); got != tt.seen {
			t.Fatalf("%s: seen(%d) = %v, want %v", tt.name, tt.tag, got, tt.seen)
		}
	}
	if s.Seen([]byte{1, 2, 3}) {
		t.Fatal("a short tag was taken for a replay")
	}
	if len(s.set) != Size || len(s.ring) != Size {
		t.Fatalf("set %d, ring %d: not bounded at %d", len(s.set), len(s.ring), Size)
	}
}
