package codectest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
)

// BundleCodec is a MessageCodec that can bundle, as a codec must be to run
// TestBundler and the bundle benchmarks.
type BundleCodec interface {
	core.MessageCodec
	core.Bundler
}

// bundleTime is 2025-11-28 12:00:00.123 UTC: what the wire carries, Unix
// milliseconds, reads back exactly, in UTC.
var bundleTime = time.UnixMilli(1764331200123).UTC()

// bundleVariety returns one message of each shape a bundle carries: every
// kind, a private message with its recipient, a history message with its
// time, the server's notice without ID, text beyond ASCII, empty text. The
// Origin of one is set, to show that it stays off the wire.
func bundleVariety() []*core.Message {
	return []*core.Message{
		{Kind: core.KindChat, ID: 1, From: "alice", Text: "hi", Time: bundleTime, Origin: 42},
		{Kind: core.KindPrivate, ID: 2, From: "alice", To: "bob", Text: "just you", Time: bundleTime},
		{Kind: core.KindSystem, From: core.SystemSender, Text: "carol joined"},
		{Kind: core.KindHistory, ID: 3, From: "carol", Text: "earlier", Time: bundleTime.Add(-time.Hour - time.Millisecond)},
		{Kind: core.KindAction, ID: 4, From: "zoë🌍", Text: "waves"},
		{Kind: core.KindChat, ID: 5, From: "世界", Text: "héllo \"🌍\"\n\\\x00 \u2028"},
		{Kind: core.KindError, From: core.SystemSender, Text: "no such user: dave", Time: bundleTime},
		{Kind: core.KindChat, From: "203.0.113.5:40000"},
	}
}

// bundleOf returns n messages, bundleVariety's in turn, numbered 1 to n by
// ID so that a bundle whose order or count changed cannot pass for itself.
func bundleOf(n int) []*core.Message {
	variety := bundleVariety()
	out := make([]*core.Message, n)
	for i := range out {
		m := *variety[i%len(variety)]
		m.ID = uint64(i + 1)
		out[i] = &m
	}
	return out
}

// bundleCases are the bundles TestBundler round-trips; AddBundleSeeds
// gives their encodings to the fuzz targets too.
func bundleCases() []struct {
	name string
	msgs []*core.Message
} {
	variety := bundleVariety()
	return []struct {
		name string
		msgs []*core.Message
	}{
		{"one", variety[:1]},
		{"two", variety[1:3]},
		{"three", variety[3:6]},
		{"every shape", variety},
		{"empty text only", []*core.Message{{Kind: core.KindChat}, {Kind: core.KindChat}}},
		{"MaxBundle", bundleOf(core.MaxBundle)},
	}
}

// bundleRefusal is a plaintext DecodeMessages must refuse, whatever the
// codec.
type bundleRefusal struct {
	name string
	enc  []byte
}

// bundleRefusals are too many messages, and a bundle where a message should
// be.
func bundleRefusals(c BundleCodec) ([]bundleRefusal, error) {
	variety := bundleVariety()
	over, err1 := EncodeBundle(c, bundleOf(core.MaxBundle+1))
	inner, err2 := EncodeBundle(c, variety[:2])
	one, err3 := EncodeBundle(c, variety[:1])
	plain, err4 := c.AppendMessage(nil, variety[2])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	return []bundleRefusal{
		{"MaxBundle+1", over},
		{"bundle in a bundle", c.AppendBundled(nil, inner)},
		{"bundle of one in a bundle of one", c.AppendBundled(nil, one)},
		{"bundle after a message", c.AppendBundled(c.AppendBundled(nil, plain), inner)},
		{"bundle before a message", c.AppendBundled(c.AppendBundled(nil, inner), plain)},
	}, nil
}

// EncodeBundle encodes msgs as a sender bundles them: each with
// AppendMessage, added to the bundle with AppendBundled.
func EncodeBundle(c BundleCodec, msgs []*core.Message) ([]byte, error) {
	var bundle, enc []byte
	for i, m := range msgs {
		var err error
		if enc, err = c.AppendMessage(enc[:0], m); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		bundle = c.AppendBundled(bundle, enc)
	}
	return bundle, nil
}

// maxSeed bounds the seeds AddBundleSeeds adds: a fuzzer minimizes each
// new input it finds, byte by byte, decoding it each time, and one grown
// from a bundle of MaxBundle messages (tens of kilobytes) takes it the
// whole of a minute's run. TestBundler covers those bundles.
const maxSeed = 256

// AddBundleSeeds adds to f, a fuzz target of c's DecodeMessages, what
// TestBundler feeds it (its bundles, each of its messages alone, the
// bundles it must refuse) and extra, the codec's own cases, less those
// longer than maxSeed bytes.
func AddBundleSeeds(f *testing.F, c BundleCodec, extra ...[]byte) {
	f.Helper()
	seeds := extra
	for _, tc := range bundleCases() {
		enc, err := EncodeBundle(c, tc.msgs)
		if err != nil {
			f.Fatalf("%s: %v", tc.name, err)
		}
		seeds = append(seeds, enc)
	}
	for _, m := range bundleVariety() {
		enc, err := c.AppendMessage(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, enc)
	}
	refusals, err := bundleRefusals(c)
	if err != nil {
		f.Fatal(err)
	}
	for _, tc := range refusals {
		seeds = append(seeds, tc.enc)
	}
	for _, seed := range seeds {
		if len(seed) <= maxSeed {
			f.Add(seed)
		}
	}
}

// SameMessages reports how got, decoded, differs from want, what was
// encoded, in every field the wire carries ("" when it does not): the time
// to the millisecond, in UTC, and Origin, which never goes on the wire, zero.
func SameMessages(got, want []*core.Message) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d messages, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g == nil {
			return fmt.Sprintf("message %d is nil", i)
		}
		if g.Kind != w.Kind || g.ID != w.ID || g.From != w.From || g.To != w.To || g.Room != w.Room || g.Text != w.Text ||
			!g.Time.Equal(w.Time.Truncate(time.Millisecond)) || g.Time.IsZero() != w.Time.IsZero() || g.Origin != 0 {
			return fmt.Sprintf("message %d is %+v, want %+v", i, *g, *w)
		}
		if !g.Time.IsZero() && g.Time.Location() != time.UTC {
			return fmt.Sprintf("message %d: time in %v, not UTC", i, g.Time.Location())
		}
	}
	return ""
}

// CheckRefused checks that c.DecodeMessages refuses b (as DecodeAfter does)
// with one error that starts with prefix once, mentions want, and is short
// enough to log for every hostile datagram.
func CheckRefused(t *testing.T, c BundleCodec, b []byte, prefix, want string) {
	t.Helper()
	got, err := DecodeAfter(t, c, b)
	if err == nil {
		t.Fatalf("DecodeMessages accepted %q as %d messages", b, len(got))
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, want) {
		t.Errorf("error %q, want the prefix %q and %q", msg, prefix, want)
	}
	if strings.Count(msg, prefix) != 1 {
		t.Errorf("error %q says %q more than once", msg, prefix)
	}
	if len(msg) > 200 {
		t.Errorf("error is %d bytes long; hostile input must not flood the log", len(msg))
	}
}

// DecodeAfter calls c.DecodeMessages on a copy of b, with a message already
// in dst as a caller that reuses its slice has, and returns what it
// appended. It fails t if DecodeMessages loses dst's message, appends
// anything when it refuses, modifies its input, or returns messages that
// change with their plaintext.
func DecodeAfter(t testing.TB, c BundleCodec, b []byte) ([]*core.Message, error) {
	t.Helper()
	in := slices.Clone(b)
	keep := &core.Message{Kind: core.KindSystem, Text: "decoded before"}
	got, err := c.DecodeMessages([]*core.Message{keep}, in)
	if !bytes.Equal(in, b) {
		t.Fatalf("DecodeMessages(%q) modified its input", b)
	}
	if err != nil {
		if len(got) != 1 || got[0] != keep {
			t.Fatalf("DecodeMessages refused %q (%v) but did not return dst as it was: %d messages", b, err, len(got))
		}
		return nil, err
	}
	if len(got) == 0 || got[0] != keep {
		t.Fatalf("DecodeMessages(%q) did not append to dst: dst[0] is now %+v", b, got)
	}
	got = got[1:]
	before := make([]core.Message, len(got))
	for i, m := range got {
		if m == nil {
			t.Fatalf("DecodeMessages(%q): message %d is nil", b, i)
		}
		before[i] = *m
		before[i].From, before[i].To, before[i].Text = strings.Clone(m.From), strings.Clone(m.To), strings.Clone(m.Text)
	}
	clear(in)
	for i, m := range got {
		if *m != before[i] {
			t.Fatalf("DecodeMessages(%q): message %d changed with the plaintext: %+v became %+v", b, i, before[i], *m)
		}
	}
	return got, nil
}

// CheckRoundTrip checks that msgs, which c decoded from a bundle (bundle
// true) or from one message, encode again, each with AppendMessage and for
// a bundle with AppendBundled, to a plaintext that DecodeMessages reads as
// msgs; and that encoding what it reads gives the same bytes.
func CheckRoundTrip(t testing.TB, c BundleCodec, msgs []*core.Message, bundle bool) {
	t.Helper()
	encode := func(msgs []*core.Message) []byte {
		t.Helper()
		if !bundle && len(msgs) != 1 {
			t.Fatalf("%d messages from one message", len(msgs))
		}
		var (
			enc []byte
			err error
		)
		if bundle {
			enc, err = EncodeBundle(c, msgs)
		} else {
			enc, err = c.AppendMessage(nil, msgs[0])
		}
		if err != nil {
			t.Fatalf("encoding %d messages: %v", len(msgs), err)
		}
		return enc
	}
	enc := encode(msgs)
	again, err := DecodeAfter(t, c, enc)
	if err != nil {
		t.Fatalf("DecodeMessages(%q): %v", enc, err)
	}
	if diff := SameMessages(again, msgs); diff != "" {
		t.Fatalf("round trip: %s", diff)
	}
	if enc2 := encode(again); !bytes.Equal(enc, enc2) {
		t.Fatalf("re-encoding differs:\n%q\n%q", enc, enc2)
	}
}

// TestBundler checks c's Bundler, table-driven, on what every codec shares:
//
//   - bundles of 1, 2, 3 and MaxBundle messages of every kind and shape
//     round-trip through AppendMessage, AppendBundled and DecodeMessages
//     (DecodeAfter, CheckRoundTrip), which appends them to what dst held,
//     in order, without aliasing the plaintext;
//   - one message as AppendMessage encodes it, no bundle, decodes through
//     DecodeMessages as itself;
//   - MaxBundle+1 messages, and a bundle where a message should be, are
//     refused;
//   - AppendBundled adds at most core.MaxBundleOverhead bytes beside each
//     message;
//   - a refusal returns dst as it was, and no plaintext, however mangled,
//     makes DecodeMessages panic.
func TestBundler(t *testing.T, c BundleCodec) {
	for _, tc := range bundleCases() {
		t.Run("bundle/"+tc.name, func(t *testing.T) {
			enc, err := EncodeBundle(c, tc.msgs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeAfter(t, c, enc)
			if err != nil {
				t.Fatalf("DecodeMessages(%q): %v", enc, err)
			}
			if diff := SameMessages(got, tc.msgs); diff != "" {
				t.Fatal(diff)
			}
			CheckRoundTrip(t, c, got, true)
		})
	}

	for i, m := range bundleVariety() {
		t.Run(fmt.Sprintf("plain/%d-%v", i, m.Kind), func(t *testing.T) {
			enc, err := c.AppendMessage(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeAfter(t, c, enc)
			if err != nil {
				t.Fatalf("DecodeMessages(%q), one message: %v", enc, err)
			}
			if diff := SameMessages(got, []*core.Message{m}); diff != "" {
				t.Fatal(diff)
			}
			CheckRoundTrip(t, c, got, false)
		})
	}

	refusals, err := bundleRefusals(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range refusals {
		t.Run("refuse/"+tc.name, func(t *testing.T) {
			if got, err := DecodeAfter(t, c, tc.enc); err == nil {
				t.Fatalf("DecodeMessages accepted %q as %d messages", tc.enc, len(got))
			}
		})
	}

	t.Run("overhead", func(t *testing.T) {
		// The server sizes a bundle before it builds it, on the word of
		// core.MaxBundleOverhead: a bundle may grow by no more than that
		// beside each message, the first or a later one, short or as
		// long as a datagram.
		msgs := append(bundleVariety(), &core.Message{Kind: core.KindChat, Text: strings.Repeat("x", core.MaxDatagram)})
		var bundle []byte
		for i, m := range msgs {
			enc, err := c.AppendMessage(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			before := len(bundle)
			bundle = c.AppendBundled(bundle, enc)
			if extra := len(bundle) - before - len(enc); extra > core.MaxBundleOverhead {
				t.Fatalf("message %d (%d bytes) grew the bundle by %d bytes beside it, more than core.MaxBundleOverhead (%d)",
					i, len(enc), extra, core.MaxBundleOverhead)
			}
		}
	})

	t.Run("mangled", func(t *testing.T) {
		enc, err := EncodeBundle(c, bundleVariety()[:3])
		if err != nil {
			t.Fatal(err)
		}
		// Whatever the codec makes of them, each must be an error or
		// messages, never a panic: every truncation, and every byte
		// replaced by bytes that mean something in one codec or another
		// (JSON's brackets and separators, a protobuf tag of field 15,
		// varint continuation).
		inputs := [][]byte{nil, {}}
		for i := range enc {
			inputs = append(inputs, enc[:i])
			for _, x := range []byte{0x00, 0xff, 0x80, 0x7a, '[', ']', '{', '}', ',', '"', '\\'} {
				b := slices.Clone(enc)
				b[i] = x
				inputs = append(inputs, b)
			}
		}
		for _, b := range inputs {
			got, err := DecodeAfter(t, c, b)
			if err == nil && (len(got) == 0 || len(got) > core.MaxBundle) {
				t.Fatalf("DecodeMessages(%q) accepted %d messages", b, len(got))
			}
		}
	})
}

// BenchmarkDecodeMessages measures c.DecodeMessages of a bundle of n
// ChatMessages into a reused slice, as a client reads what a server
// bundled.
func BenchmarkDecodeMessages(b *testing.B, c BundleCodec, n int) {
	enc, err := EncodeBundle(c, slices.Repeat([]*core.Message{ChatMessage()}, n))
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]*core.Message, 0, n)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if dst, err = c.DecodeMessages(dst[:0], enc); err != nil {
			b.Fatal(err)
		}
	}
	if len(dst) != n {
		b.Fatalf("%d messages, want %d", len(dst), n)
	}
	b.ReportMetric(float64(len(enc)), "bundle-bytes")
}

// BenchmarkAppendBundled measures what bundling n ChatMessages costs a
// sender: each encoded with AppendMessage into a scratch buffer and added
// with AppendBundled to a bundle with room.
func BenchmarkAppendBundled(b *testing.B, c BundleCodec, n int) {
	m := ChatMessage()
	enc := make([]byte, 0, core.MaxDatagram)
	bundle := make([]byte, 0, core.MaxDatagram)
	b.ReportAllocs()
	for b.Loop() {
		bundle = bundle[:0]
		for range n {
			var err error
			if enc, err = c.AppendMessage(enc[:0], m); err != nil {
				b.Fatal(err)
			}
			bundle = c.AppendBundled(bundle, enc)
		}
	}
	b.SetBytes(int64(len(bundle)))
	b.ReportMetric(float64(len(bundle)), "bundle-bytes")
}
