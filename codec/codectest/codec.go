package codectest

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/udpchat/udpchat/core"
)

// NamedPacket is a packet with a name for test logs.
type NamedPacket struct {
	Name string
	P    core.Packet
}

const sid = 0x0123456789abcdef // a session id wider than 53 bits, which a float would round

func bytesOf(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// Packets returns every kind of packet the engines send, version 1 and 2,
// and the edges of the field bounds (core/limits.go): what every codec must
// carry unchanged. They are new on every call, for the caller to change.
func Packets() []NamedPacket {
	return []NamedPacket{
		{"v1 key_req", core.Packet{Type: core.TypeKeyReq, Payload: bytesOf(300, 0xaa)}},
		{"v1 key_rep", core.Packet{Type: core.TypeKeyRep, Payload: bytesOf(256, 0xbb)}},
		{"v1 data client", core.Packet{Type: core.TypeData, Seq: 0, HasSeq: true, Payload: bytesOf(80, 1)}},
		{"v1 data broadcast", core.Packet{Type: core.TypeData, Payload: bytesOf(80, 2)}},
		{"v1 ack", core.Packet{Type: core.TypeAck, AckSeq: 7, HasAckSeq: true}},
		{"v1 ack zero", core.Packet{Type: core.TypeAck, AckSeq: 0, HasAckSeq: true}},
		{"v1 data empty payload", core.Packet{Type: core.TypeData, Seq: 3, HasSeq: true}},
		{"v2 key_req", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "alice",
			Suites: []string{"x25519-chacha20-poly1305", "rsa-aes-cbc-hmac"}, Payload: []byte("pub")}},
		{"v2 key_rep", core.Packet{Type: core.TypeKeyRep, Version: 2, Session: sid, Nick: "alice", Suite: "x25519-chacha20-poly1305",
			ServerKey: bytesOf(32, 3), Sig: bytesOf(64, 4), Payload: bytesOf(80, 5)}},
		{"v2 data", core.Packet{Type: core.TypeData, Session: sid, Seq: 4, HasSeq: true, Payload: []byte("sealed")}},
		{"v2 ack", core.Packet{Type: core.TypeAck, Session: sid, AckSeq: 4, HasAckSeq: true, Payload: []byte("tag")}},
		{"v2 ack cum", core.Packet{Type: core.TypeAck, Session: sid, AckSeq: 9, HasAckSeq: true, Cum: 5, HasCum: true, Payload: []byte("tag")}},
		{"v2 ack cum zero", core.Packet{Type: core.TypeAck, Session: sid, AckSeq: 0, HasAckSeq: true, Cum: 0, HasCum: true}},
		{"v2 ping", core.Packet{Type: core.TypePing, Session: sid, Seq: 9, HasSeq: true, Payload: []byte{0xff, 0xfe}}},
		{"v2 pong", core.Packet{Type: core.TypePong, Session: sid, Payload: []byte{0xff, 0xfe}}},
		{"v2 bye", core.Packet{Type: core.TypeBye, Session: 2, Payload: []byte("x")}},
		{"bye bare", core.Packet{Type: core.TypeBye}},
		{"cookie", core.Packet{Type: core.TypeCookie, Cookie: bytesOf(16, 'c')}},
		{"key_req with client key", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "alice", Suites: []string{"s"},
			ClientKey: bytesOf(32, 'k'), ClientSig: bytesOf(64, 's'), Payload: []byte("hello")}},
		{"key_req with cookie", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "n", Suites: []string{"s"}, Cookie: bytesOf(16, 'c'), Payload: []byte("hello")}},
		{"key_req with resume", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "alice", Suites: []string{"s"},
			Resume: resumeOf(sid, 3, 41), Payload: []byte("hello")}},
		{"v2 every field", core.Packet{Type: core.TypeKeyRep, Version: 2, Session: 7,
			Seq: 1, HasSeq: true, AckSeq: 2, HasAckSeq: true, Cum: 3, HasCum: true,
			Nick: "n", Suites: []string{"a", "b"}, Suite: "a", ServerKey: []byte{1}, Sig: []byte{2}, Cookie: []byte{4},
			Resume: resumeOf(1, 2, 3), ClientKey: []byte{5}, ClientSig: []byte{6}, Payload: []byte{3}}},
		{"max numbers", core.Packet{Type: core.TypeData, Version: 255, Session: math.MaxUint64,
			Seq: math.MaxUint64, HasSeq: true, AckSeq: math.MaxUint64, HasAckSeq: true, Cum: math.MaxUint64, HasCum: true}},
		{"max fields", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: strings.Repeat("é", core.MaxName/2),
			Suites: slices.Repeat([]string{strings.Repeat("s", core.MaxName)}, core.MaxSuites), Suite: strings.Repeat("t", core.MaxName),
			ServerKey: bytesOf(core.MaxKeyBytes, 6), Sig: bytesOf(core.MaxKeyBytes, 7), Cookie: bytesOf(core.MaxKeyBytes, 8),
			Resume:    resumeOf(math.MaxUint64, math.MaxUint64, math.MaxUint64),
			ClientKey: bytesOf(core.MaxKeyBytes, 9), ClientSig: bytesOf(core.MaxKeyBytes, 10), Payload: []byte{0}}},
		{"unicode and controls", core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "a\"b\\c\x00\n\x7f世🌍",
			Suites: []string{"", "\u2028"}, Payload: []byte{0}}},
	}
}

// SamePacket reports whether a and b agree on every field a codec carries.
// Empty and nil slices are the same: no encoding tells them apart.
func SamePacket(a, b *core.Packet) bool {
	return a.Type == b.Type &&
		a.Seq == b.Seq && a.HasSeq == b.HasSeq &&
		a.AckSeq == b.AckSeq && a.HasAckSeq == b.HasAckSeq && a.Cum == b.Cum && a.HasCum == b.HasCum &&
		bytes.Equal(a.Payload, b.Payload) &&
		a.Version == b.Version && a.Session == b.Session &&
		a.Nick == b.Nick && slices.Equal(a.Suites, b.Suites) && a.Suite == b.Suite &&
		bytes.Equal(a.ServerKey, b.ServerKey) && bytes.Equal(a.Sig, b.Sig) && bytes.Equal(a.Cookie, b.Cookie) &&
		bytes.Equal(a.Resume, b.Resume) && bytes.Equal(a.ClientKey, b.ClientKey) && bytes.Equal(a.ClientSig, b.ClientSig)
}

// resumeOf is the wire form of a core.Resume with a proof of 0xa5 bytes.
func resumeOf(session, epoch, offset uint64) []byte {
	r := core.Resume{Session: session, Epoch: epoch, Offset: offset}
	for i := range r.Proof {
		r.Proof[i] = 0xa5
	}
	return r.Append(nil)
}

// TestCodec runs the conformance suite of core.Codec against c, each part
// a subtest: RoundTrip, NoAlias, Refuses, Strict, Sizes and Concurrent, and
// Messages where c is a core.MessageCodec.
func TestCodec(t *testing.T, c core.Codec) {
	t.Run("RoundTrip", func(t *testing.T) { TestRoundTrip(t, c) })
	t.Run("NoAlias", func(t *testing.T) { TestNoAlias(t, c) })
	t.Run("Refuses", func(t *testing.T) { testRefuses(t, c) })
	t.Run("Strict", func(t *testing.T) { testStrict(t, c) })
	t.Run("Sizes", func(t *testing.T) { testSizes(t, c) })
	t.Run("Concurrent", func(t *testing.T) { TestConcurrent(t, c) })
	if mc, ok := c.(core.MessageCodec); ok {
		t.Run("Messages", func(t *testing.T) { TestMessages(t, mc) })
	}
}

// encode appends p to a prefix and checks that Append kept the prefix.
func encode(t testing.TB, c core.Codec, p *core.Packet) []byte {
	t.Helper()
	prefix := []byte("prefix:")
	got, err := c.Append(slices.Clip(prefix), p)
	if err != nil {
		t.Fatalf("Append(%v): %v", p, err)
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("Append(%v) clobbered dst: %q", p, got)
	}
	return got[len(prefix):]
}

// TestRoundTrip checks that each of Packets survives Append and Decode,
// field for field and payload byte for byte, that Append appends to dst,
// and that encoding the decoded packet again gives the same bytes.
func TestRoundTrip(t *testing.T, c core.Codec) {
	for _, tt := range Packets() {
		enc := encode(t, c, &tt.P)
		p, err := c.Decode(enc)
		if err != nil {
			t.Errorf("%s: Decode(%q): %v", tt.Name, enc, err)
			continue
		}
		if !SamePacket(p, &tt.P) {
			t.Errorf("%s: round trip: %+v became %+v", tt.Name, tt.P, *p)
			continue
		}
		if again := encode(t, c, p); !bytes.Equal(again, enc) {
			t.Errorf("%s: re-encoding differs:\n%q\n%q", tt.Name, enc, again)
		}
	}
}

// TestNoAlias checks that Decode neither modifies its input nor returns a
// packet that shares memory with it: the engines reuse their read buffer.
func TestNoAlias(t *testing.T, c core.Codec) {
	for _, tt := range Packets() {
		enc := encode(t, c, &tt.P)
		orig := bytes.Clone(enc)
		p, err := c.Decode(enc)
		if err != nil {
			t.Fatalf("%s: Decode: %v", tt.Name, err)
		}
		if !bytes.Equal(enc, orig) {
			t.Fatalf("%s: Decode modified its input", tt.Name)
		}
		for _, fill := range []byte{0, 0xff} {
			for i := range enc {
				enc[i] = fill
			}
			if !SamePacket(p, &tt.P) {
				t.Fatalf("%s: the packet changed when the datagram was overwritten: %+v", tt.Name, *p)
			}
		}
	}
}

// CheckDecode holds one Decode of in, any bytes at all, to the contract:
// no panic, the input unchanged, an error with no packet, or a packet that
// does not alias in and that survives Append and Decode unchanged. It
// returns what Decode returned, for a fuzz target to check more.
func CheckDecode(t testing.TB, c core.Codec, in []byte) (*core.Packet, error) {
	t.Helper()
	return checkDecoded(t, "Decode", "Append", in, c.Decode, c.Append, SamePacket)
}

// checkDecoded is CheckDecode for any decoder (decode, named what) and the
// encoder (encode, named enc) of the same values.
func checkDecoded[T any](t testing.TB, what, enc string, in []byte,
	decode func([]byte) (*T, error), encode func([]byte, *T) ([]byte, error), same func(a, b *T) bool) (*T, error) {
	t.Helper()
	// A fuzz engine owns its argument and writes it to testdata when a case
	// fails; the alias check overwrites the input, so it works on a copy.
	in = bytes.Clone(in)
	orig := bytes.Clone(in)
	v, err := decode(in)
	if !bytes.Equal(in, orig) {
		t.Fatalf("%s(%q) modified its input", what, orig)
	}
	if err != nil {
		if v != nil {
			t.Fatalf("%s(%q) returned a value with its error %v", what, orig, err)
		}
		return nil, err
	}
	b, eerr := encode(nil, v)
	if eerr != nil {
		t.Fatalf("%s(%s(%q) = %+v): %v", enc, what, orig, *v, eerr)
	}
	clear(in) // the value must not alias the input
	again, derr := decode(b)
	if derr != nil {
		t.Fatalf("%s(%s(%+v)) = %v (%q)", what, enc, *v, derr, b)
	}
	if !same(again, v) {
		t.Fatalf("round trip of %s(%q): %+v became %+v", what, orig, *v, *again)
	}
	if b2, eerr := encode(nil, again); eerr != nil || !bytes.Equal(b, b2) {
		t.Fatalf("re-encoding of %s(%q) differs:\n%q\n%q (%v)", what, orig, b, b2, eerr)
	}
	return v, nil
}

// testRefuses: an empty datagram is refused; a datagram cut short anywhere
// is refused or decodes to another packet than the whole one (a codec
// without an end marker may take a cut between fields for a shorter
// packet), never to the same; random garbage, and garbage behind the first
// bytes of a valid datagram, never makes Decode panic or accept what does
// not round trip.
func testRefuses(t *testing.T, c core.Codec) {
	if p, err := CheckDecode(t, c, nil); err == nil {
		t.Errorf("Decode of an empty datagram = %v, want an error", p)
	}
	var valid [][]byte
	for _, tt := range Packets() {
		enc := encode(t, c, &tt.P)
		valid = append(valid, enc)
		for i := range len(enc) {
			if p, err := CheckDecode(t, c, enc[:i]); err == nil && SamePacket(p, &tt.P) {
				t.Errorf("%s: cut to %d of %d bytes, it still decodes as the whole packet", tt.Name, i, len(enc))
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		in := make([]byte, rng.IntN(300))
		for j := range in {
			in[j] = byte(rng.Uint32())
		}
		if i%2 == 1 { // past the first checks
			v := valid[rng.IntN(len(valid))]
			in = append(slices.Clip(v[:rng.IntN(len(v))]), in...)
		}
		CheckDecode(t, c, in)
	}
}

// testStrict: Append refuses what no peer may decode (no packet, an
// unknown type, the fields beyond core's bounds or not UTF-8) and leaves
// dst as it was.
func testStrict(t *testing.T, c core.Codec) {
	bad := "a\xffb"
	for _, tt := range []struct {
		name string
		p    *core.Packet
	}{
		{"nil", nil},
		{"type 0", &core.Packet{}},
		{"type past COOKIE", &core.Packet{Type: core.TypeCookie + 1}},
		{"type 255", &core.Packet{Type: 255}},
		{"nick too long", &core.Packet{Type: core.TypeKeyReq, Nick: strings.Repeat("n", core.MaxName+1)}},
		{"nick not UTF-8", &core.Packet{Type: core.TypeKeyReq, Nick: bad}},
		{"too many suites", &core.Packet{Type: core.TypeKeyReq, Suites: make([]string, core.MaxSuites+1)}},
		{"suites entry too long", &core.Packet{Type: core.TypeKeyReq, Suites: []string{"a", strings.Repeat("s", core.MaxName+1)}}},
		{"suites entry not UTF-8", &core.Packet{Type: core.TypeKeyReq, Suites: []string{bad}}},
		{"suite too long", &core.Packet{Type: core.TypeKeyRep, Suite: strings.Repeat("s", core.MaxName+1)}},
		{"suite not UTF-8", &core.Packet{Type: core.TypeKeyRep, Suite: bad}},
		{"server_key too long", &core.Packet{Type: core.TypeKeyRep, ServerKey: make([]byte, core.MaxKeyBytes+1)}},
		{"sig too long", &core.Packet{Type: core.TypeKeyRep, Sig: make([]byte, core.MaxKeyBytes+1)}},
		{"cookie too long", &core.Packet{Type: core.TypeKeyReq, Cookie: make([]byte, core.MaxKeyBytes+1)}},
		{"resume too short", &core.Packet{Type: core.TypeKeyReq, Version: 2, Resume: make([]byte, core.ResumeLen-1)}},
		{"resume too long", &core.Packet{Type: core.TypeKeyReq, Version: 2, Resume: make([]byte, core.ResumeLen+1)}},
		{"resume of one byte", &core.Packet{Type: core.TypeKeyReq, Version: 2, Resume: []byte{1}}},
		{"client_key too long", &core.Packet{Type: core.TypeKeyReq, Version: 2, ClientKey: make([]byte, core.MaxKeyBytes+1)}},
		{"client_sig too long", &core.Packet{Type: core.TypeKeyReq, Version: 2, ClientSig: make([]byte, core.MaxKeyBytes+1)}},
	} {
		got, err := c.Append([]byte("keep"), tt.p)
		if err == nil {
			t.Errorf("%s: Append accepted it: %q", tt.name, got)
		}
		if string(got) != "keep" {
			t.Errorf("%s: Append changed dst to %q", tt.name, got)
		}
	}
}

// testSizes: the size of a datagram depends only on the length of what it
// carries (core.MaxPlaintext relies on it), grows with it, and a packet
// too large for core.MaxDatagram is refused or encodes larger than it, so
// that the engines can tell; the largest that fits still round trips.
func testSizes(t *testing.T, c core.Codec) {
	for _, hdr := range []core.Packet{core.BroadcastHeader, core.ClientDataHeader, core.V2DataHeader} {
		prev := -1
		for _, n := range []int{0, 1, 2, 3, 15, 16, 17, 100, 1000, 3000, core.MaxDatagram} {
			var lens [2]int
			for i, fill := range []byte{0, 0xff} {
				p := hdr
				p.Payload = bytesOf(n, fill)
				enc, err := c.Append(nil, &p)
				if err != nil {
					if n >= core.MaxDatagram {
						lens[i] = core.MaxDatagram + 1
						continue
					}
					t.Fatalf("%v: Append: %v", &p, err)
				}
				lens[i] = len(enc)
			}
			if lens[0] != lens[1] {
				t.Errorf("%v with %d-byte payloads: %d or %d bytes, depending on the bytes", &hdr, n, lens[0], lens[1])
			}
			if lens[0] < prev {
				t.Errorf("%v: a %d-byte payload gives a smaller datagram (%d) than a shorter one (%d)", &hdr, n, lens[0], prev)
			}
			if n >= core.MaxDatagram && lens[0] <= core.MaxDatagram {
				t.Errorf("%v: a %d-byte payload fits in %d bytes", &hdr, n, lens[0])
			}
			prev = lens[0]
		}
		p := hdr
		lo, hi := 0, core.MaxDatagram // the longest payload that fits is in [lo, hi)
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			p.Payload = make([]byte, mid)
			if enc, err := c.Append(nil, &p); err == nil && len(enc) <= core.MaxDatagram {
				lo = mid
			} else {
				hi = mid
			}
		}
		p.Payload = bytesOf(lo, 0x5a)
		if got, err := c.Decode(encode(t, c, &p)); err != nil || !SamePacket(got, &p) {
			t.Errorf("%v, the largest that fits in a datagram: round trip gives %v, %v", &p, got, err)
		}
	}
}

// TestConcurrent checks that c can be shared: goroutines encode and decode
// Packets at once (the race detector checks the rest).
func TestConcurrent(t *testing.T, c core.Codec) {
	packets := Packets()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var buf []byte
			for range 20 {
				for _, tt := range packets {
					var err error
					if buf, err = c.Append(buf[:0], &tt.P); err != nil {
						t.Errorf("%s: Append: %v", tt.Name, err)
						return
					}
					p, err := c.Decode(buf)
					if err != nil || !SamePacket(p, &tt.P) {
						t.Errorf("%s: Decode = %v, %v", tt.Name, p, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// AddSeeds adds to a fuzz target of Decode the encodings of Packets under
// c, their truncations by one byte, an empty datagram and a few bytes of
// garbage, the corpus every codec's decoder starts from.
func AddSeeds(f *testing.F, c core.Codec) {
	f.Helper()
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte("\xff\xfe garbage"))
	for _, tt := range Packets() {
		enc, err := c.Append(nil, &tt.P)
		if err != nil {
			f.Fatalf("%s: %v", tt.Name, err)
		}
		f.Add(enc)
		f.Add(enc[:len(enc)-1])
	}
}
