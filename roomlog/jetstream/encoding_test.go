package jetstream

import (
	"bytes"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
)

// TestEncodingRoundTrip: every field comes back, Origin among them (it
// keeps a sender from being sent its own message by another server), and
// a zero time stays zero.
func TestEncodingRoundTrip(t *testing.T) {
	for _, m := range []core.Message{
		{Kind: core.KindPrivate, ID: 1 << 60, From: "alice", To: "bob", Text: "héllo ✓", Time: time.Unix(1_700_000_000, 123456789), Origin: 1<<64 - 1},
		{Kind: core.KindSystem, Text: "bob joined"},
		{},
	} {
		var got core.Message
		if err := decodeMessage(appendMessage(nil, &m), &got); err != nil {
			t.Fatalf("decode %+v: %v", m, err)
		}
		if got.Time.IsZero() != m.Time.IsZero() || !got.Time.Equal(m.Time) {
			t.Errorf("time %v came back %v", m.Time, got.Time)
		}
		got.Time, m.Time = time.Time{}, time.Time{}
		if got != m {
			t.Errorf("%+v came back %+v", m, got)
		}
	}
}

// TestEncodingRefused: another version, a truncation and trailing bytes
// are errors, not messages.
func TestEncodingRefused(t *testing.T) {
	good := appendMessage(nil, &core.Message{From: "alice", Text: "hi"})
	for name, b := range map[string][]byte{
		"empty":     nil,
		"version 2": append([]byte{2}, good[1:]...),
		"flags":     append([]byte{1, 0, 0x80}, good[3:]...),
		"truncated": good[:len(good)-1],
		"trailing":  append(bytes.Clone(good), 0),
	} {
		var m core.Message
		if err := decodeMessage(b, &m); err == nil {
			t.Errorf("%s: decoded %+v", name, m)
		}
	}
}

// FuzzDecode: whatever the stream holds (anyone may publish on a room's
// subject), decoding neither panics nor allocates beyond the input, and
// what decodes encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(appendMessage(nil, &core.Message{Kind: core.KindChat, ID: 7, From: "alice", Text: "hi", Time: time.Unix(1, 2), Origin: 9}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m core.Message
		if decodeMessage(b, &m) != nil {
			return
		}
		if again := appendMessage(nil, &m); !bytes.Equal(again, b) {
			// Varints have one shortest form; a longer one in the input is
			// read the same but written shorter, so compare what it means.
			var m2 core.Message
			if err := decodeMessage(again, &m2); err != nil || m2 != m {
				t.Fatalf("%x decoded to %+v, which encodes to %x", b, m, again)
			}
		}
	})
}
