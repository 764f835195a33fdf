package protobuf_test

import (
	"testing"

	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
)

// dataV2 is the packet the server sends most: a version 2 DATA with a
// session id and a seq, carrying a 64-byte plaintext sealed by the seed
// suite (a 128-byte payload), as docs/PERFORMANCE.md reports it.
func dataV2() *core.Packet {
	payload := make([]byte, 128)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	return &core.Packet{Type: core.TypeData, Session: sid, Seq: 12345, HasSeq: true, Payload: payload}
}

func BenchmarkAppendDataV2(b *testing.B) {
	var c protobuf.Codec
	p := dataV2()
	buf := make([]byte, 0, core.MaxDatagram)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = c.Append(buf[:0], p)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(len(buf)), "datagram-bytes")
}

func BenchmarkDecodeDataV2(b *testing.B) {
	var c protobuf.Codec
	enc, err := c.Append(nil, dataV2())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
