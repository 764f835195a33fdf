package testkit

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

var _ io.Writer = (*Buffer)(nil)

// TestBufferConcurrent: writers and readers at once (the race detector
// checks the locking); every write is whole in the end.
func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	const writers, lines = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(&b, "writer %d line %d\n", w, i)
			}
		})
	}
	wg.Go(func() {
		for range lines {
			_ = b.String()
			_ = b.Bytes()
			_ = b.Len()
		}
	})
	wg.Wait()
	got := b.String()
	if n := strings.Count(got, "\n"); n != writers*lines {
		t.Fatalf("%d lines, want %d", n, writers*lines)
	}
	for w := range writers {
		for i := range lines {
			if !strings.Contains(got, fmt.Sprintf("writer %d line %d\n", w, i)) {
				t.Fatalf("writer %d line %d missing or torn", w, i)
			}
		}
	}
	if b.Len() != len(got) || string(b.Bytes()) != got {
		t.Fatalf("Len %d and Bytes %q disagree with String %q", b.Len(), b.Bytes(), got)
	}
}

// TestBufferBytesCopyReset: what Bytes returned does not change under later
// writes, nor they under changes to it; Reset empties the buffer.
func TestBufferBytesCopyReset(t *testing.T) {
	var b Buffer
	b.Write([]byte("abc"))
	got := b.Bytes()
	got[0] = 'x'
	b.Write([]byte("def"))
	if b.String() != "abcdef" {
		t.Fatalf("String %q after changing a copy, want %q", b.String(), "abcdef")
	}
	b.Reset()
	if b.Len() != 0 {
		t.Fatalf("Len %d after Reset, want 0", b.Len())
	}
}
