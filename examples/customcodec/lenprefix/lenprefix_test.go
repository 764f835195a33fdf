package lenprefix_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/examples/customcodec/lenprefix"
)

var c lenprefix.Codec

// TestCodec runs the conformance suite every codec runs: round trips of
// every packet and message the engines send, aliasing, refusals, sizes,
// concurrent use.
func TestCodec(t *testing.T) { codectest.TestCodec(t, c) }

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
	for _, tt := range codectest.Packets() {
		p := &tt.P
		ours, _ := c.Append(nil, p)
		for _, other := range []core.Codec{json.Codec{}, protobuf.Codec{}} {
			theirs, err := other.Append(nil, p)
			if err != nil {
				t.Fatal(err)
			}
			sn, sniffs := other.(core.Sniffer)
			if c.Sniff(theirs) || sniffs && sn.Sniff(ours) {
				t.Errorf("%s: %s and %s datagrams are not told apart: %x, %x", tt.Name, c.Name(), other.Name(), ours, theirs)
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
	{"handshake empty", "b10110" + "00" + "00" + "00" + "00" + "00" + "00" + "00" + "00" + "00" + "00" + "00", "handshake flagged but empty"},
	{"17 suites", "b10110" + "02" + "00" + "11", "17 suites"},
	{"nick too long", "b10110" + "02" + "41" + strings.Repeat("61", 65), "nick: 65 bytes, at most 64"},
	{"nick not UTF-8", "b10110" + "02" + "01" + "ff" + "00" + "00" + "00" + "00" + "00" + "00" + "00", "nick: not valid UTF-8"},
	// version 2, no nick, no suites, no suite, no keys, no cookie, a resume of 1 byte, no client key, no payload.
	{"resume of 1 byte", "b10110" + "02" + "00" + "00" + "00" + "00" + "00" + "00" + "01" + "aa" + "00" + "00" + "00", "resume of 1 bytes, want 56 or none"},
	{"resume too long", "b10110" + "02" + "00" + "00" + "00" + "00" + "00" + "00" + "39", "resume: 57 bytes, at most 56"},
	{"key too long", "b10210" + "02" + "00" + "00" + "00" + "8102", "server_key: 257 bytes"},
	{"payload beyond the datagram", "b10300" + "05" + "6869", "payload: 5 bytes, 2 left"},
	{"payload longer than a datagram", "b10300" + "818001", "payload: 16385 bytes, at most 4096"},
	{"trailing byte", "b10300" + "02" + "6869" + "00", "1 bytes after the last field"},
}

// TestRefused: Decode refuses garbage with an error that says why, and
// every truncation of a good datagram (the conformance suite asks only
// that none decodes as the whole packet).
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
	for _, tt := range codectest.Packets() {
		b, _ := c.Append(nil, &tt.P)
		for n := range len(b) {
			if _, err := c.Decode(b[:n]); err == nil {
				t.Errorf("%s: Decode accepted its first %d of %d bytes", tt.Name, n, len(b))
			}
		}
	}
}

// TestMessageRefused: DecodeMessage refuses garbage with an error that
// says why.
func TestMessageRefused(t *testing.T) {
	for _, tt := range []struct{ name, hex, want string }{
		{"empty", "", "kind: truncated"},
		{"kind 7", "0700" + "00" + "00" + "00" + "00", "unknown kind 7"},
		{"unknown flag", "0004" + "00" + "00" + "00" + "00", "unknown flags 0x04"},
		{"room flag, no room", "0002" + "00" + "00" + "00" + "00" + "00", "room flag set, and no room"},
		{"room not a channel", "0002" + "00" + "00" + "00" + "02" + "676f" + "00", "not a channel name"},
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
}

// TestRegistered: importing the package registers the codec under its name.
func TestRegistered(t *testing.T) {
	if got, err := core.Codecs.Lookup(lenprefix.Name); err != nil || got != (lenprefix.Codec{}) {
		t.Fatalf("core.Codecs.Lookup(%q) = %v, %v", lenprefix.Name, got, err)
	}
}
