package lenprefix_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/codec/codectest"
)

// FuzzDecode feeds Decode arbitrary datagrams, held to the contract every
// codec keeps (codectest.CheckDecode: no panic, the input unchanged, an
// error or a packet that does not alias it and survives a round trip), and
// to lenprefix's own: its errors name it, and what it accepts is the only
// encoding of its packet, so Append gives back the very bytes.
func FuzzDecode(f *testing.F) {
	codectest.AddSeeds(f, c)
	for _, tt := range refusals {
		b, _ := hex.DecodeString(tt.hex)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := codectest.CheckDecode(t, c, in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "lenprefix: datagram: ") {
				t.Fatalf("error %q lacks the lenprefix prefix", err)
			}
			return
		}
		if again, err := c.Append(nil, p); err != nil || !bytes.Equal(again, in) {
			t.Fatalf("Decode(%x) = %v, which encodes as %x, %v", in, p, again, err)
		}
	})
}

// FuzzDecodeMessage is FuzzDecode for the inner messages of version 2.
func FuzzDecodeMessage(f *testing.F) {
	codectest.AddMessageSeeds(f, c)
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := codectest.CheckDecodeMessage(t, c, in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "lenprefix: message: ") {
				t.Fatalf("error %q lacks the lenprefix prefix", err)
			}
			return
		}
		if again, err := c.AppendMessage(nil, m); err != nil || !bytes.Equal(again, in) {
			t.Fatalf("DecodeMessage(%x) = %+v, which encodes as %x, %v", in, *m, again, err)
		}
	})
}
