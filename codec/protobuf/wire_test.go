package protobuf_test

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/packetpb"
)

// toPB is the packetpb.Packet of p, as the codec used to build it.
func toPB(p *core.Packet) *packetpb.Packet {
	pb := &packetpb.Packet{Type: packetpb.Type(p.Type), Payload: p.Payload, Version: uint32(p.Version),
		Session: p.Session, Nick: p.Nick, Suites: p.Suites, Suite: p.Suite, ServerKey: p.ServerKey, Sig: p.Sig, Cookie: p.Cookie, Resume: p.Resume,
		ClientKey: p.ClientKey, ClientSig: p.ClientSig}
	if p.HasSeq {
		pb.Seq = proto.Uint64(p.Seq)
	}
	if p.HasAckSeq {
		pb.AckSeq = proto.Uint64(p.AckSeq)
	}
	if p.HasCum {
		pb.Cum = proto.Uint64(p.Cum)
	}
	return pb
}

// randPacket is a packet Append accepts, with every field drawn at random.
func randPacket(r *rand.Rand) *core.Packet {
	p := &core.Packet{Type: core.PacketType(1 + r.IntN(int(core.TypeCookie)))}
	maybe := func() bool { return r.IntN(2) == 0 }
	num := func() uint64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return r.Uint64()
		}
		return r.Uint64N(1 << 20)
	}
	bytesN := func(max int) []byte {
		if maybe() {
			return nil
		}
		b := make([]byte, r.IntN(max+1))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	name := func() string {
		if maybe() {
			return ""
		}
		return string(bytes.Repeat([]byte("né"), r.IntN(21)))
	}
	if maybe() {
		p.Seq, p.HasSeq = num(), true
	}
	if maybe() {
		p.AckSeq, p.HasAckSeq = num(), true
	}
	if maybe() {
		p.Cum, p.HasCum = num(), true
	}
	if maybe() {
		p.Version = uint8(r.IntN(256))
	}
	p.Session = num()
	p.Payload = bytesN(300)
	p.Nick, p.Suite = name(), name()
	for range r.IntN(4) {
		p.Suites = append(p.Suites, name())
	}
	p.ServerKey, p.Sig, p.Cookie = bytesN(256), bytesN(256), bytesN(256)
	p.ClientKey, p.ClientSig = bytesN(64), bytesN(128)
	if maybe() { // exactly core.ResumeLen or none
		p.Resume = make([]byte, core.ResumeLen)
		for i := range p.Resume {
			p.Resume[i] = byte(r.Uint32())
		}
	}
	return p
}

// TestSameAsProto: Append writes exactly what a deterministic proto.Marshal
// of the generated packetpb.Packet writes, and Decode reads back what
// proto.Unmarshal reads, for random packets.
func TestSameAsProto(t *testing.T) {
	var c protobuf.Codec
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		p := randPacket(r)
		got, err := c.Append([]byte("dst"), p)
		if err != nil {
			t.Fatalf("packet %d: Append(%+v): %v", i, p, err)
		}
		if !bytes.HasPrefix(got, []byte("dst")) {
			t.Fatalf("packet %d: Append lost dst", i)
		}
		got = got[3:]
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(toPB(p))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("packet %d: %+v\nAppend = %x\nproto  = %x", i, p, got, want)
		}
		back, err := c.Decode(got)
		if err != nil {
			t.Fatalf("packet %d: Decode: %v", i, err)
		}
		var pb packetpb.Packet
		if err := proto.Unmarshal(got, &pb); err != nil {
			t.Fatal(err)
		}
		if !codectest.SamePacket(back, p) || (back.Payload == nil) != (pb.Payload == nil) ||
			back.HasSeq != (pb.Seq != nil) || !slices.Equal(back.Suites, pb.Suites) {
			t.Fatalf("packet %d: Decode = %+v, want %+v (proto: %v)", i, back, p, &pb)
		}
	}
}

// TestDecodeAllocs: a DATA decodes with two allocations, the packet and its
// payload, which must not alias the datagram; one encodes with none.
func TestDecodeAllocs(t *testing.T) {
	var c protobuf.Codec
	p := &core.Packet{Type: core.TypeData, Session: sid, Seq: 9, HasSeq: true, Payload: make([]byte, 128)}
	enc, err := c.Append(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Append(buf[:0], p) }); n != 0 {
		t.Errorf("Append: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Decode(enc) }); n > 2 {
		t.Errorf("Decode: %v allocations, want 2", n)
	}
}

// FuzzSameAsProto: whatever Decode accepts, proto.Unmarshal accepts too and
// reads the same packet from; what proto.Unmarshal refuses (a string that is
// not UTF-8, malformed wire format), Decode refuses.
func FuzzSameAsProto(f *testing.F) {
	var c protobuf.Codec
	addPacketSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := c.Decode(in)
		var pb packetpb.Packet
		perr := proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(in, &pb)
		if err != nil {
			return
		}
		if perr != nil {
			t.Fatalf("Decode accepted %x, proto.Unmarshal refused it: %v", in, perr)
		}
		want := &core.Packet{Type: core.PacketType(pb.Type), Payload: pb.Payload, Version: uint8(pb.Version),
			Session: pb.Session, Nick: pb.Nick, Suites: pb.Suites, Suite: pb.Suite, ServerKey: pb.ServerKey, Sig: pb.Sig, Cookie: pb.Cookie, Resume: pb.Resume,
			ClientKey: pb.ClientKey, ClientSig: pb.ClientSig,
			Seq: pb.GetSeq(), HasSeq: pb.Seq != nil, AckSeq: pb.GetAckSeq(), HasAckSeq: pb.AckSeq != nil,
			Cum: pb.GetCum(), HasCum: pb.Cum != nil}
		if !codectest.SamePacket(p, want) || (p.Payload == nil) != (pb.Payload == nil) {
			t.Fatalf("Decode(%x) = %+v, proto.Unmarshal = %+v", in, p, want)
		}
	})
}
