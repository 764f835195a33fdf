package roomlogtest

import (
	"context"
	"testing"

	"github.com/udpchat/udpchat/core"
)

// BenchmarkAppend measures appending one short chat message to one room,
// the server's cost per message it accepts.
func BenchmarkAppend(b *testing.B, l core.RoomLog) {
	c := context.Background()
	m := Message(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(c, "lobby", m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead measures reading batch entries at a time from a room
// holding batch*8, into a reused dst: a recipient's read-ahead as its
// flight opens. It reports the cost per batch.
func BenchmarkRead(b *testing.B, l core.RoomLog, batch int) {
	c := context.Background()
	for i := range batch * 8 {
		if _, err := l.Append(c, "lobby", Message(i)); err != nil {
			b.Fatal(err)
		}
	}
	bounds, err := l.Bounds(c, "lobby")
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]core.LogEntry, 0, batch)
	from := bounds.First
	b.ReportAllocs()
	for b.Loop() {
		dst, _, err = l.Read(c, "lobby", from, batch, dst[:0])
		if err != nil || len(dst) != batch {
			b.Fatalf("Read from %d: %d entries, %v", from, len(dst), err)
		}
		if from += uint64(batch); from+uint64(batch) > bounds.Next {
			from = bounds.First
		}
	}
}
