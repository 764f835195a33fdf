package protobuf_test

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/packetpb"
)

// ts is 2025-11-28 12:00:00.123 UTC as the wire carries it (codec/json's).
const ts = 1764331200123

var tsTime = time.UnixMilli(ts).UTC()

// TestKindNumbering: packet.proto numbers the message kinds as core does.
func TestKindNumbering(t *testing.T) {
	for k := core.KindChat; k <= core.KindSession; k++ {
		if got, want := packetpb.Kind(k).String(), "KIND_"+strings.ToUpper(k.String()); got != want {
			t.Errorf("packetpb.Kind(%d) = %s, want %s", k, got, want)
		}
	}
	if n := packetpb.Kind(0).Descriptor().Values().Len(); n != int(core.KindSession)+1 {
		t.Errorf("packet.proto has %d kinds, core %d", n, core.KindHistory+1)
	}
}

// TestMessageRoundTrip: the conformance suite's checks of a MessageCodec.
func TestMessageRoundTrip(t *testing.T) { codectest.TestMessages(t, protobuf.Codec{}) }

// TestMessageTimeLossy: what ts_ms cannot say. Sub-millisecond precision
// and the location are dropped; a time in the first millisecond of 1970 is
// ts_ms 0, which is no time.
func TestMessageTimeLossy(t *testing.T) {
	var c protobuf.Codec
	for _, tt := range []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"sub-millisecond", tsTime.Add(999 * time.Microsecond), tsTime},
		{"location", tsTime.In(time.FixedZone("X", 3600)), tsTime},
		{"epoch", time.UnixMilli(0), time.Time{}},
		{"epoch + 1µs", time.UnixMicro(1), time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := c.AppendMessage(nil, &core.Message{Text: "x", Time: tt.in})
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.DecodeMessage(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Time.Equal(tt.want) || m.Time.IsZero() != tt.want.IsZero() {
				t.Fatalf("%v came back as %v, want %v", tt.in, m.Time, tt.want)
			}
		})
	}
}

func TestAppendMessageRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, want string
		m          *core.Message
	}{
		{"nil", "nil message", nil},
		{"unknown kind", "message kind 7", &core.Message{Kind: core.KindSession + 1}},
		{"from too long", "from of 65 bytes", &core.Message{From: strings.Repeat("f", 65)}},
		{"to too long", "to of 65 bytes", &core.Message{To: strings.Repeat("t", 65)}},
		{"from not utf-8", "from: not valid UTF-8", &core.Message{From: utf8Bad}},
		{"to not utf-8", "to: not valid UTF-8", &core.Message{To: utf8Bad}},
		{"text not utf-8", "text: not valid UTF-8", &core.Message{Text: utf8Bad}},
		{"before 1970", "message time", &core.Message{Time: time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)}},
		{"after 2^63-1 ms", "message time", &core.Message{Time: time.UnixMilli(math.MaxInt64).Add(time.Millisecond)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := protobuf.Codec{}.AppendMessage([]byte("keep"), tt.m)
			if err == nil {
				t.Fatalf("AppendMessage accepted it: %x", got)
			}
			if !strings.HasPrefix(err.Error(), "codec/protobuf: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want the codec/protobuf prefix and %q", err, tt.want)
			}
			if string(got) != "keep" {
				t.Fatalf("dst changed: %q", got)
			}
		})
	}
}

// hostileMessages are inner messages DecodeMessage must refuse.
func hostileMessages() []struct {
	name string
	in   []byte
	want string
} {
	return []struct {
		name string
		in   []byte
		want string
	}{
		{"unknown kind 7", varint(1, 7), "unknown message kind 7"},
		{"unknown kind 99", varint(1, 99), "unknown message kind 99"},
		{"negative kind", varint(1, math.MaxUint64), "unknown message kind -1"},
		{"kind 2^32", varint(1, 1<<32), "out of range"},
		{"kind as bytes", field(1, []byte{1}), "kind (field 1) has wire type bytes"},
		{"kind twice", cat(varint(1, 1), varint(1, 0)), "duplicate kind"},
		{"id as fixed64", fixed64(2, 1), "id (field 2) has wire type fixed64"},
		{"text as varint", varint(5, 1), "text (field 5) has wire type varint"},
		{"text twice", cat(field(5, []byte("a")), field(5, []byte("b"))), "duplicate text"},
		{"from 65 bytes", field(3, bytes.Repeat([]byte("f"), 65)), "from of 65 bytes"},
		{"to 65 bytes", field(4, bytes.Repeat([]byte("t"), 65)), "to of 65 bytes"},
		{"from not utf-8", field(3, []byte(utf8Bad)), "UTF-8"},
		{"text not utf-8", field(5, []byte(utf8Bad)), "UTF-8"},
		{"negative ts_ms", varint(6, uint64(1<<64-1000)), "before 1970"},
		{"truncated text", []byte{0x2a, 0x05, 'a'}, "field 5"},
		{"trailing garbage", cat(field(5, []byte("a")), []byte{0x80}), "bad field tag"},
		{"json", []byte(`{"kind": "chat", "text": "hi"}`), "codec/protobuf: "},
		// A bundle read as one message would be an empty chat message.
		{"bundle", field(15, field(5, []byte("hi"))), "message is a bundle (field 15), not one message"},
		{"bundle of an empty message", field(15, nil), "message is a bundle"},
		{"text and bundle", cat(field(5, []byte("hi")), field(15, nil)), "message is a bundle"},
		{"bundle as varint", varint(15, 1), "bundle (field 15) has wire type varint"},
	}
}

func TestDecodeMessageHostile(t *testing.T) {
	var c protobuf.Codec
	for _, tc := range hostileMessages() {
		t.Run(tc.name, func(t *testing.T) {
			m, err := c.DecodeMessage(tc.in)
			if err == nil {
				t.Fatalf("DecodeMessage(%x) = %+v, want an error", tc.in, m)
			}
			if m != nil {
				t.Fatal("DecodeMessage returned a message with its error")
			}
			if !strings.HasPrefix(err.Error(), "codec/protobuf: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeMessage(%x) = %q, want the codec/protobuf prefix and %q", tc.in, err, tc.want)
			}
		})
	}
}

// TestDecodeMessageLenient: unknown fields are skipped; an empty message is
// a chat message with no text.
func TestDecodeMessageLenient(t *testing.T) {
	var c protobuf.Codec
	m, err := c.DecodeMessage(cat(varint(8, 42), field(5, []byte("hi")), field(50, []byte("origin"))))
	if err != nil || !codectest.SameMessage(m, &core.Message{Text: "hi"}) {
		t.Fatalf("DecodeMessage = %+v, %v", m, err)
	}
	m, err = c.DecodeMessage(nil)
	if err != nil || !codectest.SameMessage(m, &core.Message{}) {
		t.Fatalf("DecodeMessage(nil) = %+v, %v", m, err)
	}
}
