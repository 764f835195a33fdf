package protobuf_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/packetpb"
)

// TestBundler: what every codec's bundles must do.
func TestBundler(t *testing.T) { codectest.TestBundler(t, protobuf.Codec{}) }

// TestBundleFieldNumber: the codec's bundle field is packet.proto's.
func TestBundleFieldNumber(t *testing.T) {
	fd := (&packetpb.Message{}).ProtoReflect().Descriptor().Fields().ByName("bundle")
	if fd == nil || fd.Number() != 15 || !fd.IsList() || fd.Message().FullName() != "udpchat.packet.v1.Message" {
		t.Fatalf("packet.proto's Message.bundle is %v, not repeated Message bundle = 15", fd)
	}
}

// Two messages as AppendMessage writes them, and an entry holding them.
var (
	chatA = cat(varint(2, 1), field(3, []byte("alice")), field(5, []byte("hi")))
	chatB = cat(varint(1, uint64(core.KindSystem)), field(3, []byte("server")), field(5, []byte("bob joined")))
)

// TestAppendBundledForm: a bundle is what proto.Marshal writes for a
// Message with those entries in bundle, and grows in its own storage.
func TestAppendBundledForm(t *testing.T) {
	var c protobuf.Codec
	room := make([]byte, 0, 512)
	b := c.AppendBundled(room, chatA)
	b = c.AppendBundled(b, chatB)
	if want := cat(field(15, chatA), field(15, chatB)); !bytes.Equal(b, want) {
		t.Fatalf("got  %x\nwant %x", b, want)
	}
	if &b[0] != &room[:1][0] {
		t.Fatal("AppendBundled did not use the bundle's room")
	}
	var a, bb packetpb.Message
	if err := proto.Unmarshal(chatA, &a); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(chatB, &bb); err != nil {
		t.Fatal(err)
	}
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(&packetpb.Message{Bundle: []*packetpb.Message{&a, &bb}})
	if err != nil || !bytes.Equal(b, want) {
		t.Fatalf("proto.Marshal writes %x (%v), AppendBundled %x", want, err, b)
	}
}

// TestDecodeMessagesAccepts covers legal bundles the encoder does not
// write.
func TestDecodeMessagesAccepts(t *testing.T) {
	a := &core.Message{ID: 1, From: "alice", Text: "hi"}
	for _, tt := range []struct {
		name string
		in   []byte
		want []*core.Message
	}{
		{"bundle of one", field(15, chatA), []*core.Message{a}},
		{"empty entries", cat(field(15, nil), field(15, nil)), []*core.Message{{}, {}}},
		{"entry with unknown fields", field(15, cat(field(50, []byte("x")), chatA, varint(99, 1))), []*core.Message{a}},
		{"entry out of order", field(15, cat(field(5, []byte("hi")), varint(2, 1), field(3, []byte("alice")))), []*core.Message{a}},
		{"plain message", chatA, []*core.Message{a}},
		{"plain empty", nil, []*core.Message{{}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := codectest.DecodeAfter(t, protobuf.Codec{}, tt.in)
			if err != nil {
				t.Fatalf("DecodeMessages(%x): %v", tt.in, err)
			}
			if diff := codectest.SameMessages(got, tt.want); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}

// hostileBundles are plaintexts DecodeMessages must refuse, with a word of
// the error that says why. They also seed FuzzDecodeMessages.
func hostileBundles() []struct {
	name string
	in   []byte
	want string
} {
	over := bytes.Repeat(field(15, chatA), core.MaxBundle+1)
	return []struct {
		name string
		in   []byte
		want string
	}{
		{"bundle and kind", cat(field(15, chatA), varint(1, 1)), "bundle (field 15) beside kind (field 1)"},
		{"kind and bundle", cat(varint(1, 0), field(15, chatA)), "bundle (field 15) beside kind (field 1)"},
		{"bundle and text", cat(field(15, chatA), field(15, chatB), field(5, []byte("x"))), "beside text (field 5)"},
		{"bundle and ts_ms", cat(varint(6, 1), field(15, chatA)), "beside ts_ms (field 6)"},
		{"bundle and unknown", cat(field(15, chatA), field(50, []byte("x"))), "bundle (field 15) beside an unknown field"},
		{"unknown and bundle", cat(varint(16, 1), field(15, chatA)), "beside an unknown field"},
		{"entry with a bundle", field(15, field(15, chatA)), "bundle entry 0: message is a bundle (field 15)"},
		{"second entry with a bundle", cat(field(15, chatA), field(15, cat(chatB, field(15, nil)))), "bundle entry 1: message is a bundle"},
		{"bundle as varint", varint(15, 1), "bundle (field 15) has wire type varint, not bytes"},
		{"bundle then varint", cat(field(15, chatA), varint(15, 1)), "bundle (field 15) has wire type varint"},
		{"truncated entry", []byte{0x7a, 0x05, 'a'}, "field 15"},
		{"trailing garbage", cat(field(15, chatA), []byte{0x80}), "bad field tag"},
		{"entry unknown kind", cat(field(15, chatA), field(15, varint(1, 99))), "bundle entry 1: unknown message kind 99"},
		{"entry duplicate text", field(15, cat(field(5, []byte("a")), field(5, []byte("b")))), "bundle entry 0: message: duplicate text"},
		{"entry not utf-8", field(15, field(5, []byte(utf8Bad))), "bundle entry 0: message: "},
		{"entry long from", field(15, field(3, bytes.Repeat([]byte("f"), 65))), "bundle entry 0: message has from of 65 bytes"},
		{"entry truncated", field(15, []byte{0x2a, 0x05, 'a'}), "bundle entry 0: message: field 5"},
		{"MaxBundle+1", over, "more than 256 values of bundle"},
	}
}

func TestDecodeMessagesRefuses(t *testing.T) {
	for _, tc := range hostileBundles() {
		t.Run(tc.name, func(t *testing.T) { codectest.CheckRefused(t, protobuf.Codec{}, tc.in, "codec/protobuf: ", tc.want) })
	}
}

// TestDecodeMessagesEntryError: an entry's error wraps what DecodeMessage
// says of the entry alone.
func TestDecodeMessagesEntryError(t *testing.T) {
	var c protobuf.Codec
	bad := varint(6, 1<<64-1)
	_, alone := c.DecodeMessage(bad)
	_, err := c.DecodeMessages(nil, cat(field(15, chatA), field(15, bad)))
	if alone == nil || err == nil {
		t.Fatalf("accepted: %v, %v", alone, err)
	}
	if inner := errors.Unwrap(err); inner == nil || inner.Error() != alone.Error() {
		t.Fatalf("DecodeMessages: %v wraps %v; DecodeMessage says %v", err, inner, alone)
	}
}

// FuzzDecodeMessages feeds DecodeMessages arbitrary plaintexts. It must
// never panic or modify its input; a refusal is a codec/protobuf error and
// leaves dst as it was (codectest.DecodeAfter); what it accepts must be what
// DecodeMessage reads (one message) or what proto.Unmarshal reads (a
// bundle, which DecodeMessage refuses), must not alias the input, and must
// round-trip: AppendMessage and, for a bundle, AppendBundled encode it,
// DecodeMessages gives it back, and encoding that again gives the same
// bytes (codectest.CheckRoundTrip).
func FuzzDecodeMessages(f *testing.F) {
	var c protobuf.Codec
	var extra [][]byte
	for _, tc := range hostileBundles() {
		extra = append(extra, tc.in)
	}
	for _, tt := range codectest.Messages() {
		enc, err := c.AppendMessage(nil, &tt.M)
		if err != nil {
			f.Fatal(err)
		}
		extra = append(extra, c.AppendBundled(nil, enc))
	}
	codectest.AddBundleSeeds(f, c, extra...)

	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := codectest.DecodeAfter(t, c, in)
		one, oneErr := c.DecodeMessage(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "codec/protobuf: ") {
				t.Fatalf("error %q lacks the codec/protobuf prefix", err)
			}
			if oneErr == nil {
				t.Fatalf("DecodeMessages(%x) = %v, but DecodeMessage accepts it", in, err)
			}
			return
		}
		bundle := oneErr != nil
		if !bundle {
			if diff := codectest.SameMessages(got, []*core.Message{one}); diff != "" {
				t.Fatalf("DecodeMessages(%x) against DecodeMessage: %s", in, diff)
			}
		} else {
			if !strings.Contains(oneErr.Error(), "a bundle") {
				t.Fatalf("DecodeMessages(%x) accepts what DecodeMessage refuses with %v", in, oneErr)
			}
			if diff := sameAsProto(in, got); diff != "" {
				t.Fatalf("DecodeMessages(%x) against proto.Unmarshal: %s", in, diff)
			}
		}
		codectest.CheckRoundTrip(t, c, got, bundle)
	})
}

// sameAsProto says how msgs, which DecodeMessages read from the bundle b,
// differ from what proto.Unmarshal reads: a Message with nothing but its
// bundle, whose entries hold no bundle ("" when they agree).
func sameAsProto(b []byte, msgs []*core.Message) string {
	var pb packetpb.Message
	if err := proto.Unmarshal(b, &pb); err != nil {
		return "proto.Unmarshal: " + err.Error()
	}
	if len(pb.ProtoReflect().GetUnknown()) != 0 || !proto.Equal(&pb, &packetpb.Message{Bundle: pb.Bundle}) {
		return "a field beside the bundle"
	}
	want := make([]*core.Message, len(pb.Bundle))
	for i, e := range pb.Bundle {
		if len(e.Bundle) != 0 {
			return "an entry holds a bundle"
		}
		want[i] = &core.Message{Kind: core.MessageKind(e.Kind), ID: e.Id, From: e.From, To: e.To, Room: e.Room, Text: e.Text}
		if e.TsMs != 0 {
			want[i].Time = time.UnixMilli(e.TsMs).UTC()
		}
	}
	return codectest.SameMessages(msgs, want)
}
