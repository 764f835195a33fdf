package udp

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/transport/transporttest"
)

// TestWriteBatchInParallel: several goroutines write batches to the same
// socket at once, more of them than there are scratch slots, one batch
// longer than one sendmmsg takes, with single WriteTo calls among them.
// Every datagram arrives, and each writer's in the order it wrote them.
// Round by round, so that a receive buffer of the kernel's default size
// holds a round.
func TestWriteBatchInParallel(t *testing.T) {
	const writers, rounds = rawSlots + 2, 10
	size := func(w int) int { // writer 1's batches take two sendmmsg calls
		if w == 1 {
			return rawMax + 8
		}
		return 16
	}
	tx, rx := listen(t), listen(t)
	next := make([]uint32, writers)
	for range rounds {
		var wg sync.WaitGroup
		total := 0
		for w := range writers {
			total += size(w)
			first := next[w]
			wg.Go(func() {
				dgs := make([]core.Datagram, size(w))
				for i := range dgs {
					dgs[i] = core.Datagram{B: binary.BigEndian.AppendUint32([]byte{byte(w)}, first+uint32(i)), Addr: rx.LocalAddr()}
				}
				if w == 0 {
					for _, d := range dgs {
						if _, err := tx.WriteTo(d.B, d.Addr); err != nil {
							t.Errorf("writer %d: WriteTo: %v", w, err)
							return
						}
					}
					return
				}
				if n, err := tx.WriteBatch(dgs); n != len(dgs) || err != nil {
					t.Errorf("writer %d: WriteBatch: %d of %d, %v", w, n, len(dgs), err)
				}
			})
		}
		wg.Wait()
		for range total {
			b, from := read(t, rx, 16)
			if from != tx.LocalAddr() || len(b) != 5 || int(b[0]) >= writers {
				t.Fatalf("read %x from %v", b, from)
			}
			w, k := b[0], binary.BigEndian.Uint32(b[1:])
			if k != next[w] {
				t.Fatalf("writer %d: datagram %d, want %d", w, k, next[w])
			}
			next[w]++
		}
	}
}

// TestWriteBatchDualStack: a socket on [::] sends to an IPv4 peer as
// ::ffff:a.b.c.d, which the peer reads from the socket's port.
func TestWriteBatchDualStack(t *testing.T) {
	tr, err := Network{}.Listen(netip.MustParseAddrPort("[::]:0"))
	if err != nil {
		t.Skipf("no IPv6: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	tx, rx := tr.(*Conn), listen(t)
	if n, err := tx.WriteBatch([]core.Datagram{{B: []byte("one"), Addr: rx.LocalAddr()}, {B: []byte("two"), Addr: rx.LocalAddr()}}); n != 2 || err != nil {
		t.Fatalf("WriteBatch: %d, %v", n, err)
	}
	for _, want := range []string{"one", "two"} {
		got, from := read(t, rx, 16)
		if string(got) != want || from.Port() != tx.LocalAddr().Port() {
			t.Fatalf("read %q from %v, want %q from port %d", got, from, want, tx.LocalAddr().Port())
		}
	}
}

// TestClientSocketWritesLocked: a socket that reports ICMP errors never
// writes outside the lock, so a send that fails for an earlier datagram's
// error still takes the report off the queue (unreachable_linux_test.go).
func TestClientSocketWritesLocked(t *testing.T) {
	c := transporttest.Listen(t, Network{}, loopback).(*Conn)
	if err := c.reportUnreachable(); err != nil {
		t.Fatal(err)
	}
	if n := c.writeRaw([]core.Datagram{{B: []byte("x"), Addr: listen(t).LocalAddr()}}); n != 0 {
		t.Fatalf("writeRaw sent %d on a reporting socket", n)
	}
}
