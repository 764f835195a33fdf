package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// floorBuffer is the socket buffer asked for on both floor sockets.
const floorBuffer = 4 << 20

// FloorResult is the loopback UDP datagram rate of this machine: one
// socket sending datagrams of Size bytes as fast as it can to another on
// 127.0.0.1, which counts them. It is the ceiling any relay through a
// userspace server on the same machine stays under.
type FloorResult struct {
	Size           int     `json:"size"`
	Seconds        float64 `json:"seconds"`
	Sent           uint64  `json:"sent"`
	Received       uint64  `json:"received"`
	SentPerSec     float64 `json:"sent_per_s"`
	ReceivedPerSec float64 `json:"received_per_s"`
	// Loss is the fraction of datagrams sent that the receiver's socket
	// dropped (its buffer full).
	Loss float64 `json:"loss"`
}

// measureFloor blasts size-byte datagrams from one socket to another on
// 127.0.0.1 for d and counts what arrives.
func measureFloor(ctx context.Context, size int, d time.Duration) (*FloorResult, error) {
	size = max(size, 1)
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	rx, err := net.ListenUDP("udp4", lo)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	defer rx.Close()
	tx, err := net.ListenUDP("udp4", lo)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	defer tx.Close()
	_ = rx.SetReadBuffer(floorBuffer)
	_ = tx.SetWriteBuffer(floorBuffer)
	to := rx.LocalAddr().(*net.UDPAddr).AddrPort()

	var received atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := rx.ReadFromUDPAddrPort(buf); err != nil {
				return // closed
			}
			received.Add(1)
		}
	})
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 'f'
	}
	var sent uint64
	start := time.Now()
	deadline := start.Add(d)
	var sendErr error
	for ctx.Err() == nil {
		// Check the clock every 256 datagrams: time.Now costs little, but
		// not nothing at a million a second.
		for range 256 {
			if _, err := tx.WriteToUDPAddrPort(payload, to); err != nil {
				if !errors.Is(err, net.ErrClosed) {
					sendErr = err
				}
				break
			}
			sent++
		}
		if sendErr != nil || !time.Now().Before(deadline) {
			break
		}
	}
	elapsed := time.Since(start)
	// What the kernel holds is still counted: wait until the receiver has
	// read nothing for a moment, at most a second.
	last, quietSince := received.Load(), time.Now()
	for time.Since(quietSince) < 50*time.Millisecond && time.Since(start) < d+time.Second {
		time.Sleep(5 * time.Millisecond)
		if n := received.Load(); n != last {
			last, quietSince = n, time.Now()
		}
	}
	rx.Close()
	wg.Wait()
	if sendErr != nil {
		return nil, fmt.Errorf("floor: send: %w", sendErr)
	}
	got := received.Load()
	r := &FloorResult{
		Size: size, Seconds: round3(elapsed.Seconds()), Sent: sent, Received: got,
		SentPerSec: round1(float64(sent) / elapsed.Seconds()), ReceivedPerSec: round1(float64(got) / elapsed.Seconds()),
	}
	if sent > 0 {
		r.Loss = round4(1 - float64(got)/float64(sent))
	}
	return r, ctx.Err()
}
