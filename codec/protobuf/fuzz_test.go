package protobuf_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/codec/protobuf"
)

// FuzzDecode feeds Decode arbitrary datagrams. It must never panic or modify
// its input; what it refuses it refuses with a codec/protobuf error and no
// packet; what it accepts must not alias the input, and must round-trip:
// Append encodes it (starting with 0x08), Decode gives it back, and encoding
// that again gives the same bytes.
func FuzzDecode(f *testing.F) {
	var c protobuf.Codec
	addPacketSeeds(f)
	f.Add(cat(typeData, varint(99, 1), field(100, []byte("x")), fixed64(7, sid), varint(2, 0)))

	f.Fuzz(func(t *testing.T, in []byte) {
		// The engine owns its argument and writes it to testdata when a case
		// fails; the alias check overwrites the input, so it works on a copy.
		in = bytes.Clone(in)
		orig := bytes.Clone(in)
		p, err := c.Decode(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("Decode modified its input")
		}
		if err != nil {
			if p != nil {
				t.Fatal("Decode returned a packet with its error")
			}
			if !strings.HasPrefix(err.Error(), "codec/protobuf: ") {
				t.Fatalf("error %q lacks the codec/protobuf prefix", err)
			}
			return
		}
		if in[0] != 0x08 {
			t.Fatalf("Decode accepted %x, which does not start with 0x08", in)
		}
		enc, err := c.Append(nil, p)
		if err != nil {
			t.Fatalf("Append(Decode(%x) = %v): %v", in, p, err)
		}
		if enc[0] != 0x08 {
			t.Fatalf("Append(%v) = %x, which does not start with 0x08", p, enc)
		}
		clear(in) // the packet must not alias the input
		again, err := c.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Append(%v)) = %v (%x)", p, err, enc)
		}
		if !samePacket(again, p) {
			t.Fatalf("round trip: %v became %v", p, again)
		}
		enc2, err := c.Append(nil, again)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encoding differs:\n%x\n%x (%v)", enc, enc2, err)
		}
	})
}

// FuzzDecodeMessage does for DecodeMessage what FuzzDecode does for Decode.
func FuzzDecodeMessage(f *testing.F) {
	var c protobuf.Codec
	for _, tt := range messages {
		enc, err := c.AppendMessage(nil, &tt.m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	for _, tc := range hostileMessages() {
		f.Add(tc.in)
	}
	f.Add(cat(varint(7, 42), field(5, []byte("hi")), field(50, []byte("origin"))))

	f.Fuzz(func(t *testing.T, in []byte) {
		in = bytes.Clone(in)
		orig := bytes.Clone(in)
		m, err := c.DecodeMessage(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("DecodeMessage modified its input")
		}
		if err != nil {
			if m != nil {
				t.Fatal("DecodeMessage returned a message with its error")
			}
			if !strings.HasPrefix(err.Error(), "codec/protobuf: ") {
				t.Fatalf("error %q lacks the codec/protobuf prefix", err)
			}
			return
		}
		enc, err := c.AppendMessage(nil, m)
		if err != nil {
			t.Fatalf("AppendMessage(DecodeMessage(%x) = %+v): %v", in, m, err)
		}
		clear(in)
		again, err := c.DecodeMessage(enc)
		if err != nil {
			t.Fatalf("DecodeMessage(AppendMessage(%+v)) = %v (%x)", m, err, enc)
		}
		if !sameMessage(again, m) {
			t.Fatalf("round trip: %+v became %+v", m, again)
		}
		enc2, err := c.AppendMessage(nil, again)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encoding differs:\n%x\n%x (%v)", enc, enc2, err)
		}
	})
}

// addPacketSeeds seeds a packet fuzz target with every shape of packet the
// engine sends and every hostile case.
func addPacketSeeds(f *testing.F) {
	for _, tt := range shapes {
		enc, err := protobuf.Codec{}.Append(nil, &tt.p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	for _, tc := range hostileCases() {
		f.Add(tc.in)
	}
}
