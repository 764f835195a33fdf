package lenprefix_test

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/examples/customcodec/lenprefix"
)

var c lenprefix.Codec

// packets are one of each shape the engines send, in both versions, and
// the edges of the bounds.
func packets() []*core.Packet {
	key := bytes.Repeat([]byte{0xee}, 32)
	return []*core.Packet{
		{Type: core.TypeKeyReq, Payload: []byte("-----BEGIN PUBLIC KEY-----")},
		{Type: core.TypeKeyRep, Payload: []byte{0, 1, 2, 0xff}},
		{Type: core.TypeData, Seq: 0, HasSeq: true, Payload: []byte("sealed")},
		{Type: core.TypeData, Payload: []byte("broadcast, no seq")},
		{Type: core.TypeAck, AckSeq: 1<<64 - 1, HasAckSeq: true},
		{Type: core.TypeKeyReq, Version: 2, Nick: "zoë", Suites: []string{"x25519-chacha20poly1305", "rsa-aes-cbc-hmac"}, Payload: key},
		{Type: core.TypeKeyReq, Version: 2, Suites: []string{"rsa-aes-cbc-hmac"}, Cookie: key, Payload: key},
		{Type: core.TypeKeyRep, Version: 2, Session: 0x0123456789abcdef, Nick: "alice", Suite: "rsa-aes-cbc-hmac",
			ServerKey: key, Sig: bytes.Repeat([]byte{7}, 64), Payload: key},
		{Type: core.TypeData, Session: 1<<64 - 1, Seq: 300, HasSeq: true, Payload: bytes.Repeat([]byte{9}, 1000)},
		{Type: core.TypeAck, Session: 42, AckSeq: 127, HasAckSeq: true, Cum: 128, HasCum: true},
		{Type: core.TypePing, Session: 42, Seq: 1, HasSeq: true, Payload: []byte{1}},
		{Type: core.TypePong, Session: 42, Payload: []byte{1}},
		{Type: core.TypeBye, Session: 42},
		{Type: core.TypeCookie, Cookie: bytes.Repeat([]byte{1}, 256)},
		{Type: core.TypeKeyReq, Version: 255, Nick: strings.Repeat("n", 64), Suites: make([]string, 16)},
	}
}

// TestRoundTrip: every packet decodes as itself, in a new packet that does
// not change when the datagram is overwritten.
func TestRoundTrip(t *testing.T) {
	for i, want := range packets() {
		b, err := c.Append([]byte("prefix"), want)
		if err != nil {
			t.Fatalf("packet %d (%v): %v", i, want, err)
		}
		if string(b[:6]) != "prefix" || !c.Sniff(b[6:]) {
			t.Fatalf("packet %d: Append did not append a datagram we sniff: %x", i, b)
		}
		b = b[6:]
		got, err := c.Decode(b)
		if err != nil {
			t.Fatalf("packet %d (%v): Decode(%x): %v", i, want, b, err)
		}
		clear(b)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("packet %d: got %+v, want %+v", i, got, want)
		}
	}
}

// TestWire pins the format the package documentation describes.
func TestWire(t *testing.T) {
	p := &core.Packet{Type: core.TypeData, Session: 0x0102030405060708, Seq: 300, HasSeq: true, Payload: []byte("hi")}
	b, err := c.Append(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	// magic, DATA, flags seq|session, seq 300, session, payload length 2, "hi".
	if want := "b1" + "03" + "09" + "ac02" + "0102030405060708" + "02" + "6869"; hex.EncodeToString(b) != want {
		t.Errorf("got %x, want %s", b, want)
	}
}

// TestSniff: no JSON or protobuf datagram passes for ours, and ours for
// theirs, so an "auto" server tells the three apart.
func TestSniff(t *testing.T) {
	for i, p := range packets() {
		ours, _ := c.Append(nil, p)
		for _, other := range []core.Codec{json.Codec{}, protobuf.Codec{}} {
			theirs, err := other.Append(nil, p)
			if err != nil {
				t.Fatal(err)
			}
			sn, sniffs := other.(core.Sniffer)
			if c.Sniff(theirs) || sniffs && sn.Sniff(ours) {
				t.Errorf("packet %d: %s and %s datagrams are not told apart: %x, %x", i, c.Name(), other.Name(), ours, theirs)
			}
		}
	}
}

// refusals are datagrams Decode must refuse, each with what its error says.
var refusals = []struct {
	name, hex, want string
}{
	{"empty", "", "magic: truncated"},
	{"JSON", hex.EncodeToString([]byte(`{"type": "ACK", "ack_seq": 1}`)), "starts with 0x7b"},
	{"no type", "b1", "type: truncated"},
	{"type 0", "b10000" + "00", "unknown packet type 0"},
	{"type 9", "b10900" + "00", "unknown packet type 9"},
	{"unknown flag", "b10420" + "00", "unknown flags 0x20"},
	{"no payload", "b10300", "payload: truncated"},
	{"seq truncated", "b10301" + "ac", "seq: truncated"},
	{"seq not minimal", "b10301" + "8000" + "00", "seq: uvarint not minimal"},
	{"seq beyond 64 bits", "b10301" + "ffffffffffffffffff02" + "00", "overflows"},
	{"session truncated", "b10308" + "01020304", "session: truncated"},
	{"session 0", "b10308" + "0000000000000000" + "00", "session flagged but 0"},
	{"handshake empty", "b10110" + "00" + "00" + "00" + "00" + "00" + "00" + "00" + "00", "handshake flagged but empty"},
	{"17 suites", "b10110" + "02" + "00" + "11", "17 suites"},
	{"nick too long", "b10110" + "02" + "41" + strings.Repeat("61", 65), "nick: 65 bytes, at most 64"},
	{"nick not UTF-8", "b10110" + "02" + "01" + "ff" + "00" + "00" + "00" + "00" + "00" + "00", "nick: not valid UTF-8"},
	{"key too long", "b10210" + "02" + "00" + "00" + "00" + "8102", "server_key: 257 bytes"},
	{"payload beyond the datagram", "b10300" + "05" + "6869", "payload: 5 bytes, 2 left"},
	{"payload longer than a datagram", "b10300" + "818001", "payload: 16385 bytes, at most 4096"},
	{"trailing byte", "b10300" + "02" + "6869" + "00", "1 bytes after the last field"},
}

// TestRefused: Decode refuses garbage with an error that says why, and
// every truncation of a good datagram.
func TestRefused(t *testing.T) {
	for _, tt := range refusals {
		b, err := hex.DecodeString(tt.hex)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		p, err := c.Decode(b)
		if err == nil || p != nil || !strings.HasPrefix(err.Error(), "lenprefix: datagram: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Decode(%x) = %v, %v; want an error saying %q", tt.name, b, p, err, tt.want)
		}
	}
	for i, p := range packets() {
		b, _ := c.Append(nil, p)
		for n := range len(b) {
			if _, err := c.Decode(b[:n]); err == nil {
				t.Errorf("packet %d: Decode accepted its first %d of %d bytes", i, n, len(b))
			}
		}
	}
}

// TestAppendRefuses: Append refuses, leaving dst as it was, what Decode
// would refuse.
func TestAppendRefuses(t *testing.T) {
	for _, p := range []*core.Packet{
		nil,
		{Type: core.TypeInvalid},
		{Type: core.TypeCookie + 1},
		{Type: core.TypeKeyReq, Nick: strings.Repeat("n", 65)},
		{Type: core.TypeKeyReq, Suites: make([]string, 17)},
		{Type: core.TypeKeyReq, Suites: []string{"\xff"}},
		{Type: core.TypeKeyRep, Suite: "\xff"},
		{Type: core.TypeKeyRep, Sig: make([]byte, 257)},
	} {
		if b, err := c.Append([]byte("dst"), p); err == nil || string(b) != "dst" {
			t.Errorf("Append(%v) = %q, %v; want dst unchanged and an error", p, b, err)
		}
	}
}

// messages are one of each kind, and the edges of the bounds.
func messages() []*core.Message {
	at := time.UnixMilli(1764331200123).UTC()
	return []*core.Message{
		{Kind: core.KindChat, ID: 1, From: "alice", Text: "hi", Time: at},
		{Kind: core.KindPrivate, ID: 2, From: "alice", To: "bob", Text: "just you", Time: at},
		{Kind: core.KindSystem, From: core.SystemSender, Text: "carol joined"},
		{Kind: core.KindHistory, ID: 1 << 63, From: "carol", Text: "earlier", Time: time.UnixMilli(0).UTC()},
		{Kind: core.KindAction, From: "zoë🌍", Text: "waves"},
		{Kind: core.KindError, From: strings.Repeat("x", 64), Text: strings.Repeat("é", 1000)},
		{Kind: core.KindChat},
	}
}

// TestMessageRoundTrip: every message decodes as itself.
func TestMessageRoundTrip(t *testing.T) {
	for i, want := range messages() {
		b, err := c.AppendMessage(nil, want)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		got, err := c.DecodeMessage(b)
		if err != nil {
			t.Fatalf("message %d: DecodeMessage(%x): %v", i, b, err)
		}
		clear(b)
		if *got != *want {
			t.Errorf("message %d: got %+v, want %+v", i, *got, *want)
		}
	}
}

// TestMessageRefused: DecodeMessage refuses garbage, and AppendMessage
// what DecodeMessage would refuse.
func TestMessageRefused(t *testing.T) {
	for _, tt := range []struct{ name, hex, want string }{
		{"empty", "", "kind: truncated"},
		{"kind 6", "0600" + "00" + "00" + "00" + "00", "unknown kind 6"},
		{"unknown flag", "0002" + "00" + "00" + "00" + "00", "unknown flags 0x02"},
		{"from too long", "0000" + "00" + "41" + strings.Repeat("61", 65), "from: 65 bytes"},
		{"text not UTF-8", "0000" + "00" + "00" + "00" + "01" + "c3", "text: not valid UTF-8"},
		{"time beyond int64", "0001" + "00" + "00" + "00" + "80808080808080808001" + "00", "beyond 2^63-1"},
		{"trailing byte", "0000" + "00" + "00" + "00" + "00" + "00", "after the last field"},
	} {
		b, _ := hex.DecodeString(tt.hex)
		m, err := c.DecodeMessage(b)
		if err == nil || m != nil || !strings.HasPrefix(err.Error(), "lenprefix: message: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: DecodeMessage(%x) = %v, %v; want an error saying %q", tt.name, b, m, err, tt.want)
		}
	}
	for _, m := range []*core.Message{
		nil,
		{Kind: core.KindHistory + 1},
		{To: strings.Repeat("x", 65)},
		{Text: "\xff"},
		{Time: time.UnixMilli(-1)},
	} {
		if b, err := c.AppendMessage([]byte("dst"), m); err == nil || string(b) != "dst" {
			t.Errorf("AppendMessage(%v) = %q, %v; want dst unchanged and an error", m, b, err)
		}
	}
}

// TestRegistered: importing the package registers the codec under its name.
func TestRegistered(t *testing.T) {
	if got, err := core.Codecs.Lookup(lenprefix.Name); err != nil || got != (lenprefix.Codec{}) {
		t.Fatalf("core.Codecs.Lookup(%q) = %v, %v", lenprefix.Name, got, err)
	}
}
