package protobuf_test

import (
	"strings"
	"testing"

	"github.com/udpchat/udpchat/codec/codectest"
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
		p, err := codectest.CheckDecode(t, c, in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "codec/protobuf: ") {
				t.Fatalf("error %q lacks the codec/protobuf prefix", err)
			}
			return
		}
		if in[0] != 0x08 {
			t.Fatalf("Decode accepted %x, which does not start with 0x08", in)
		}
		if enc, _ := c.Append(nil, p); enc[0] != 0x08 {
			t.Fatalf("Append(%v) = %x, which does not start with 0x08", p, enc)
		}
	})
}

// FuzzDecodeMessage does for DecodeMessage what FuzzDecode does for Decode.
func FuzzDecodeMessage(f *testing.F) {
	var c protobuf.Codec
	codectest.AddMessageSeeds(f, c)
	for _, tc := range hostileMessages() {
		f.Add(tc.in)
	}
	f.Add(cat(varint(7, 42), field(5, []byte("hi")), field(50, []byte("origin"))))

	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := codectest.CheckDecodeMessage(t, c, in); err != nil && !strings.HasPrefix(err.Error(), "codec/protobuf: ") {
			t.Fatalf("error %q lacks the codec/protobuf prefix", err)
		}
	})
}

// addPacketSeeds seeds a packet fuzz target with the conformance suite's
// seeds and every hostile case.
func addPacketSeeds(f *testing.F) {
	codectest.AddSeeds(f, protobuf.Codec{})
	for _, tc := range hostileCases() {
		f.Add(tc.in)
	}
}
