package codectest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
)

// DataV2 is the packet a server sends most: a version 2 DATA with a session
// id and a seq, carrying a 64-byte plaintext sealed by the seed suite (a
// 128-byte payload).
func DataV2() *core.Packet {
	payload := make([]byte, 128)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	return &core.Packet{Type: core.TypeData, Session: 0x0123456789abcdef, Seq: 12345, HasSeq: true, Payload: payload}
}

// DataV1 is a version 1 DATA from a client, with a seq and a 64-byte
// payload.
func DataV1() *core.Packet {
	payload := make([]byte, 64)
	for i := range payload {
		payload[i] = byte(i)
	}
	return &core.Packet{Type: core.TypeData, Seq: 12345, HasSeq: true, Payload: payload}
}

// KeyRepV2 is a version 2 KEY_REP, the largest packet with strings in it.
func KeyRepV2() *core.Packet {
	return &core.Packet{Type: core.TypeKeyRep, Version: 2, Session: 0x0123456789abcdef, Nick: "alice",
		Suite: "x25519-chacha20-poly1305", ServerKey: make([]byte, 32), Sig: make([]byte, 64), Payload: make([]byte, 80)}
}

// ChatMessage is a version 2 inner message: a 60-byte chat line.
func ChatMessage() *core.Message {
	return &core.Message{Kind: core.KindChat, ID: 12345, From: "alice", Text: strings.Repeat("hello ", 10),
		Time: time.UnixMilli(1764331200123).UTC()}
}

// BenchmarkAppend measures c.Append of p into a buffer with room, as the
// engines call it.
func BenchmarkAppend(b *testing.B, c core.Codec, p *core.Packet) {
	buf := make([]byte, 0, core.MaxDatagram)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = c.Append(buf[:0], p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(len(buf)), "datagram-bytes")
}

// BenchmarkDecode measures c.Decode of p's encoding.
func BenchmarkDecode(b *testing.B, c core.Codec, p *core.Packet) {
	enc, err := c.Append(nil, p)
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

// BenchmarkAppendMessage measures mc.AppendMessage of m into a buffer with
// room.
func BenchmarkAppendMessage(b *testing.B, mc core.MessageCodec, m *core.Message) {
	buf := make([]byte, 0, core.MaxDatagram)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = mc.AppendMessage(buf[:0], m); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkDecodeMessage measures mc.DecodeMessage of m's encoding.
func BenchmarkDecodeMessage(b *testing.B, mc core.MessageCodec, m *core.Message) {
	enc, err := mc.AppendMessage(nil, m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mc.DecodeMessage(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeTo checks a codec's DecodeTo against its Decode: each of
// packets, encoded and decoded into one reused Packet and buffer, comes out
// as Decode gives it, with nothing left of the packet before, and never
// aliasing the datagram.
func TestDecodeTo(t *testing.T, c core.DecoderTo, enc core.Codec, packets []*core.Packet) {
	t.Helper()
	var p core.Packet
	var buf []byte
	for i, want := range packets {
		b, err := enc.Append(nil, want)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		ref, err := enc.Decode(b)
		if err != nil {
			t.Fatalf("packet %d: Decode: %v", i, err)
		}
		if err := c.DecodeTo(&p, b, buf); err != nil {
			t.Fatalf("packet %d: DecodeTo: %v", i, err)
		}
		if got, wantStr := fmt.Sprintf("%+v", p), fmt.Sprintf("%+v", *ref); got != wantStr {
			t.Fatalf("packet %d: DecodeTo gives %s, Decode %s", i, got, wantStr)
		}
		for j := range b {
			b[j] = 0 // p must not alias the datagram
		}
		if fmt.Sprintf("%+v", p) != fmt.Sprintf("%+v", *ref) {
			t.Fatalf("packet %d: DecodeTo's packet changed with the datagram", i)
		}
		if p.Payload != nil {
			buf = p.Payload[:0]
		}
	}
}
