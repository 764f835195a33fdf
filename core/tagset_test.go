package core

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
	var s tagSet
	tests := []struct {
		name string
		do   func()
		tag  uint64
		seen bool
	}{
		{"empty set", nil, 1, false},
		{"after adding", func() { s.add(tag(1)) }, 1, true},
		{"another", nil, 2, false},
		{"full: oldest still there", func() {
			for i := uint64(2); i <= tagSetSize; i++ {
				s.add(tag(i))
			}
		}, 1, true},
		{"full: newest there", nil, tagSetSize, true},
		{"one more wraps: oldest forgotten", func() { s.add(tag(tagSetSize + 1)) }, 1, false},
		{"second oldest kept", nil, 2, true},
		{"newest kept", nil, tagSetSize + 1, true},
	}
	for _, tt := range tests {
		if tt.do != nil {
			tt.do()
		}
		if got := s.seen(tag(tt.tag)); got != tt.seen {
			t.Fatalf("%s: seen(%d) = %v, want %v", tt.name, tt.tag, got, tt.seen)
		}
	}
	if s.seen([]byte{1, 2, 3}) {
		t.Fatal("a short tag was taken for a replay")
	}
	if len(s.set) != tagSetSize || len(s.ring) != tagSetSize {
		t.Fatalf("set %d, ring %d: not bounded at %d", len(s.set), len(s.ring), tagSetSize)
	}
}
