package roomlogtest

import (
	"context"
	"testing"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
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

// BenchmarkPipelined measures appends as a server makes them to a log that
// pipelines them (core.AppendStarter): up to window started and not yet
// waited on, waited on in the order started. Beside the time per append it
// reports the process's CPU per append (cpu-ns/op), the whole cost of a
// log in the same process, such as an embedded NATS server, on whichever
// goroutines it is paid.
func BenchmarkPipelined(b *testing.B, l core.RoomLog, window int) {
	st, ok := l.(core.AppendStarter)
	if !ok {
		b.Skip("the log does not pipeline appends")
	}
	c := context.Background()
	m := Message(1)
	waits := make(chan func(context.Context) (core.LogEntry, error), window)
	done := make(chan error, 1)
	go func() {
		var err error
		for wait := range waits {
			if _, werr := wait(c); werr != nil && err == nil {
				err = werr
			}
		}
		done <- err
	}()
	b.ReportAllocs()
	cpu := testkit.ProcessCPU()
	for b.Loop() {
		waits <- st.StartAppend(c, "lobby", m)
	}
	close(waits)
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(testkit.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/op")
}
