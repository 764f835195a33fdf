package lenprefix_test

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecode feeds Decode arbitrary datagrams. It must never panic nor
// modify its input; what it refuses it refuses with an error alone; what it
// accepts is the only encoding of its packet (Append gives back the very
// bytes), and the packet does not change when the datagram is overwritten.
func FuzzDecode(f *testing.F) {
	for _, p := range packets() {
		b, err := c.Append(nil, p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tt := range refusals {
		b, _ := hex.DecodeString(tt.hex)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		in = bytes.Clone(in) // the engine's own bytes are what it saves when a case fails
		orig := bytes.Clone(in)
		p, err := c.Decode(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("Decode modified its input")
		}
		if err != nil {
			if p != nil || !strings.HasPrefix(err.Error(), "lenprefix: datagram: ") {
				t.Fatalf("Decode(%x) = %v, %v: want no packet and a prefixed error", in, p, err)
			}
			return
		}
		again, err := c.Append(nil, p)
		if err != nil || !bytes.Equal(again, orig) {
			t.Fatalf("Decode(%x) = %v, which encodes as %x, %v", orig, p, again, err)
		}
		clear(in)
		if p2, _ := c.Decode(again); !reflect.DeepEqual(p, p2) {
			t.Fatalf("the packet changed when the datagram was overwritten: %v, was %v", p, p2)
		}
	})
}

// FuzzDecodeMessage is FuzzDecode for the inner messages of version 2.
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range messages() {
		b, err := c.AppendMessage(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		in = bytes.Clone(in)
		orig := bytes.Clone(in)
		m, err := c.DecodeMessage(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("DecodeMessage modified its input")
		}
		if err != nil {
			if m != nil || !strings.HasPrefix(err.Error(), "lenprefix: message: ") {
				t.Fatalf("DecodeMessage(%x) = %v, %v: want no message and a prefixed error", in, m, err)
			}
			return
		}
		again, err := c.AppendMessage(nil, m)
		if err != nil || !bytes.Equal(again, orig) {
			t.Fatalf("DecodeMessage(%x) = %+v, which encodes as %x, %v", orig, *m, again, err)
		}
		clear(in)
		if m2, _ := c.DecodeMessage(again); *m2 != *m {
			t.Fatalf("the message changed when the plaintext was overwritten: %+v, was %+v", *m, *m2)
		}
	})
}
