// Package coretest holds benchmarks that every implementation of a core
// interface runs alike, as testing/fstest does for file systems: a codec or
// a cipher suite calls them from its own tests with its own values, so that
// the figures in docs/PERFORMANCE.md are measured the same way for each.
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

// SealSizes are the plaintexts the suite benchmarks seal: a chat line and a
// kilobyte.
var SealSizes = []int{64, 1024}

// BenchmarkSeal measures keys.Seal of each of SealSizes under ad, into a
// buffer with room, as the engines call it; name prefixes the
// sub-benchmarks' names.
func BenchmarkSeal(b *testing.B, name string, keys core.SessionKeys, ad []byte) {
	for _, n := range SealSizes {
		b.Run(fmt.Sprintf("%s%dB", name, n), func(b *testing.B) {
			plain := make([]byte, n)
			dst := make([]byte, 0, core.MaxDatagram)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := keys.Seal(dst[:0], plain, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen measures to.Open of what from sealed, for each of
// SealSizes.
func BenchmarkOpen(b *testing.B, name string, from, to core.SessionKeys, ad []byte) {
	for _, n := range SealSizes {
		b.Run(fmt.Sprintf("%s%dB", name, n), func(b *testing.B) {
			sealed, err := from.Seal(nil, make([]byte, n), ad)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, 0, core.MaxDatagram)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := to.Open(dst[:0], sealed, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSealParallel seals a 64-byte plaintext from every P under one
// key, as a client's sender and receiver share their keys, to show that the
// per-session state does not serialise them.
func BenchmarkSealParallel(b *testing.B, keys core.SessionKeys, ad []byte) {
	b.ReportAllocs()
	b.SetBytes(64)
	b.RunParallel(func(pb *testing.PB) {
		plain := make([]byte, 64)
		dst := make([]byte, 0, core.MaxDatagram)
		for pb.Next() {
			if _, err := keys.Seal(dst[:0], plain, ad); err != nil {
				b.Error(err)
				return
			}
		}
	})
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
