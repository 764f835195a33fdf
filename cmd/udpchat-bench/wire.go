package main

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/udpchat/udpchat/core"
)

// repeatWindow is how many recent datagrams a countingTransport remembers,
// per direction, to recognise one sent again byte for byte. It covers a
// window layer's 64 messages in flight.
const repeatWindow = 128

// Wire counts what crossed a set of transports, in UDP payload bytes.
type Wire struct {
	TxDatagrams uint64 `json:"tx_datagrams"`
	TxBytes     uint64 `json:"tx_bytes"`
	RxDatagrams uint64 `json:"rx_datagrams"`
	RxBytes     uint64 `json:"rx_bytes"`
	// TxRepeats are datagrams sent again byte for byte: a reliability
	// layer's retransmissions and retried KEY_REQs (every fresh datagram
	// differs, sealed with a fresh IV).
	TxRepeats uint64 `json:"tx_repeats"`
	// RxRepeats are datagrams received again byte for byte: the server's
	// retransmissions that arrived, and answers to retried KEY_REQs.
	RxRepeats uint64 `json:"rx_repeats"`
}

func (w *Wire) add(o Wire) {
	w.TxDatagrams += o.TxDatagrams
	w.TxBytes += o.TxBytes
	w.RxDatagrams += o.RxDatagrams
	w.RxBytes += o.RxBytes
	w.TxRepeats += o.TxRepeats
	w.RxRepeats += o.RxRepeats
}

// countingTransport wraps a client's transport to count datagrams and bytes
// each way, and the datagrams that repeat one of the recent ones: client.Client
// exposes no retransmission counter, but a retransmission is the stored
// datagram written again.
type countingTransport struct {
	core.Transport
	txDgrams, txBytes, rxDgrams, rxBytes, txRepeats, rxRepeats atomic.Uint64
	tx, rx                                                     recent
}

var hashSeed = maphash.MakeSeed()

// recent remembers the hashes of the last repeatWindow datagrams.
type recent struct {
	mu     sync.Mutex
	hashes [repeatWindow]uint64
	next   int
}

// seen records b and reports whether it matches a recent datagram.
func (r *recent) seen(b []byte) bool {
	h := maphash.Bytes(hashSeed, b)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.hashes {
		if x == h {
			return true
		}
	}
	r.hashes[r.next] = h
	r.next = (r.next + 1) % repeatWindow
	return false
}

func (t *countingTransport) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	n, from, err := t.Transport.ReadFrom(p)
	if err == nil {
		t.rxDgrams.Add(1)
		t.rxBytes.Add(uint64(n))
		if t.rx.seen(p[:n]) {
			t.rxRepeats.Add(1)
		}
	}
	return n, from, err
}

func (t *countingTransport) WriteTo(p []byte, addr netip.AddrPort) (int, error) {
	n, err := t.Transport.WriteTo(p, addr)
	if err == nil {
		t.txDgrams.Add(1)
		t.txBytes.Add(uint64(n))
		if t.tx.seen(p) {
			t.txRepeats.Add(1)
		}
	}
	return n, err
}

// wire returns the counts so far.
func (t *countingTransport) wire() Wire {
	return Wire{
		TxDatagrams: t.txDgrams.Load(), TxBytes: t.txBytes.Load(),
		RxDatagrams: t.rxDgrams.Load(), RxBytes: t.rxBytes.Load(),
		TxRepeats: t.txRepeats.Load(), RxRepeats: t.rxRepeats.Load(),
	}
}
