package udp

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/transport/transporttest"
)

// TestBatch: the conformance suite's batch written to two sockets.
func TestBatch(t *testing.T) { transporttest.TestBatch(t, Network{}) }

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
