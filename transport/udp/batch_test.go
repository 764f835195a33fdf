package udp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
)

// TestBatch: a batch written to two sockets arrives whole, each datagram
// with its sender, and a batch read takes several datagrams at once.
func TestBatch(t *testing.T) {
	tx, a, b := listen(t), listen(t), listen(t)
	var out []core.Datagram
	for i := range 6 {
		to := a.LocalAddr()
		if i%2 == 1 {
			to = b.LocalAddr()
		}
		out = append(out, core.Datagram{B: fmt.Appendf(nil, "datagram %d", i), Addr: to})
	}
	if n, err := tx.WriteBatch(out); n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v; want %d, nil", n, err, len(out))
	}
	for i, rx := range []*Conn{a, b} {
		var got []string
		for len(got) < 3 {
			if err := rx.pc.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
				t.Fatal(err)
			}
			in := make([]core.Datagram, 8)
			for j := range in {
				in[j].B = make([]byte, 0, 100)
			}
			n, err := rx.ReadBatch(in)
			if err != nil {
				t.Fatalf("ReadBatch: %v", err)
			}
			for _, d := range in[:n] {
				if d.Addr != tx.LocalAddr() {
					t.Errorf("datagram from %v, want %v", d.Addr, tx.LocalAddr())
				}
				got = append(got, string(d.B))
			}
		}
		for j, g := range got {
			if want := fmt.Sprintf("datagram %d", 2*j+i); g != want {
				t.Errorf("socket %d datagram %d = %q, want %q", i, j, g, want)
			}
		}
	}
}

// TestBatchErrors: an oversize datagram fails as core.ErrTooLong, and those
// before it still go out (the count returned with the error is a lower
// bound: some kernels report none sent), and a closed socket's ReadBatch fails as
// net.ErrClosed.
func TestBatchErrors(t *testing.T) {
	tx, rx := listen(t), listen(t)
	_, err := tx.WriteBatch([]core.Datagram{
		{B: []byte("fits"), Addr: rx.LocalAddr()},
		{B: bytes.Repeat([]byte("x"), 70000), Addr: rx.LocalAddr()},
	})
	if !errors.Is(err, core.ErrTooLong) {
		t.Fatalf("WriteBatch: %v, want ErrTooLong", err)
	}
	if got, _ := read(t, rx, 100); string(got) != "fits" {
		t.Fatalf("read %q, want the datagram before the oversize one", got)
	}
	done := make(chan error)
	go func() {
		_, err := rx.ReadBatch([]core.Datagram{{B: make([]byte, 100)}})
		done <- err
	}()
	rx.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadBatch after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("ReadBatch did not return after Close")
	}
}
