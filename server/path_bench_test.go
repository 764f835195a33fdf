package server_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/seed"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

// pathPeer is a version 2 client as the benchmark plays it: its address,
// keys and session, and the next seq it sends and must acknowledge.
type pathPeer struct {
	addr    netip.AddrPort
	keys    core.SessionKeys
	sid     uint64
	nextOut uint64 // its next DATA seq
	nextIn  uint64 // the next server DATA seq it will acknowledge
}

// seal returns p, sealed with plaintext in the peer's session, encoded.
func (p *pathPeer) seal(tb testing.TB, pkt *core.Packet, plaintext []byte) []byte {
	pkt.Session = p.sid
	sealed, err := p.keys.Seal(nil, plaintext, pkt.AD())
	if err != nil {
		tb.Fatal(err)
	}
	pkt.Payload = sealed
	dg, err := jsoncodec.Codec{}.Append(nil, pkt)
	if err != nil {
		tb.Fatal(err)
	}
	return dg
}

func (p *pathPeer) ack(tb testing.TB, seq uint64) []byte {
	return p.seal(tb, &core.Packet{Type: core.TypeAck, AckSeq: seq, HasAckSeq: true, Cum: seq + 1, HasCum: true}, nil)
}

// pathFixture is a server with one sender and n recipients, all version 2
// clients in the default configuration (JSON, the seed suite,
// stop-and-wait), every one joined and every DATA so far acknowledged.
type pathFixture struct {
	srv   *server.Server
	tr    *capturingTransport
	peers []*pathPeer // peers[0] sends
	text  []byte      // the sender's message, 64 bytes of text
}

var (
	pathFixturesMu sync.Mutex
	pathFixtures   = map[int]*pathFixture{}
)

// pathFixtureFor builds the fixture for n recipients once per test binary:
// n RSA handshakes are slow, and the fixture's state carries on from one
// run of the benchmark to the next.
func pathFixtureFor(b *testing.B, n int) *pathFixture {
	pathFixturesMu.Lock()
	defer pathFixturesMu.Unlock()
	if f := pathFixtures[n]; f != nil {
		return f
	}
	mem, err := memory.NewNetwork().Listen(chattest.Loopback)
	if err != nil {
		b.Fatal(err)
	}
	tr := &capturingTransport{Transport: mem}
	_, id, _ := ed25519.GenerateKey(nil)
	srv, err := server.New(server.Config{
		Transport: tr, Codec: jsoncodec.Codec{}, Suite: seed.Suite{}, Reliability: stopwait.Layer{},
		Identity: id, MaxSessions: n + 10,
		// Every peer is on 127.0.0.1: the per-address caps would stop the
		// ninth.
		MaxSessionsPerAddr: -1, MaxSessionsPerPrefix: -1,
	})
	if err != nil {
		b.Fatal(err)
	}
	f := &pathFixture{srv: srv, tr: tr}
	ctx := context.Background()
	for i := range n + 1 {
		in, err := seed.NewInitiatorFromKey(chattest.Keys.Key(i % 4))
		if err != nil {
			b.Fatal(err)
		}
		p := &pathPeer{addr: netip.AddrPortFrom(chattest.Loopback.Addr(), uint16(20000+i))}
		hello, err := jsoncodec.Codec{}.Append(nil, &core.Packet{Type: core.TypeKeyReq, Version: 2,
			Nick: fmt.Sprintf("peer%d", i), Suites: []string{seed.Name}, Payload: in.Hello()})
		if err != nil {
			b.Fatal(err)
		}
		srv.HandleDatagram(ctx, hello, p.addr)
		rep := f.sent(b, p.addr, core.TypeKeyRep)
		if len(rep) != 1 {
			b.Fatalf("peer %d: %d KEY_REPs", i, len(rep))
		}
		if p.keys, err = in.Finish(rep[0].Payload, core.Handshake{Version: 2, SessionID: rep[0].Session}); err != nil {
			b.Fatal(err)
		}
		p.sid = rep[0].Session
		// The first PING confirms the session: the server admits it to the
		// room, and announces it to everyone already there.
		srv.HandleDatagram(ctx, p.seal(b, &core.Packet{Type: core.TypePing, Seq: 1, HasSeq: true}, nil), p.addr)
		f.peers = append(f.peers, p)
		f.ackAll(b)
	}
	tr.out, tr.discard = nil, true // from here on the server sends nowhere
	f.text, err = jsoncodec.Codec{}.AppendMessage(nil, &core.Message{Kind: core.KindChat,
		Text: "0123456789012345678901234567890123456789012345678901234567890123"})
	if err != nil {
		b.Fatal(err)
	}
	pathFixtures[n] = f
	return f
}

// sent returns the packets of type typ the server has sent to addr, and
// forgets every datagram it sent.
func (f *pathFixture) sent(b *testing.B, addr netip.AddrPort, typ core.PacketType) []*core.Packet {
	var ps []*core.Packet
	for _, d := range f.tr.out {
		p, err := jsoncodec.Codec{}.Decode(d.b)
		if err != nil {
			b.Fatal(err)
		}
		if d.to == addr && p.Type == typ {
			ps = append(ps, p)
		}
	}
	f.tr.out = nil
	return ps
}

// ackAll acknowledges every DATA the server has sent, until it sends no
// more (stop-and-wait sends the next only when the last is acknowledged).
func (f *pathFixture) ackAll(b *testing.B) {
	byAddr := make(map[netip.AddrPort]*pathPeer, len(f.peers))
	for _, p := range f.peers {
		byAddr[p.addr] = p
	}
	for len(f.tr.out) > 0 {
		sent := f.tr.out
		f.tr.out = nil
		for _, d := range sent {
			pkt, err := jsoncodec.Codec{}.Decode(d.b)
			if err != nil {
				b.Fatal(err)
			}
			p := byAddr[d.to]
			if pkt.Type != core.TypeData || p == nil || pkt.Seq < p.nextIn {
				continue // not DATA, or a retransmission
			}
			p.nextIn = pkt.Seq + 1
			f.srv.HandleDatagram(context.Background(), p.ack(b, pkt.Seq), p.addr)
		}
	}
}

// BenchmarkMessagePath measures the server's work for one chat message
// from a version 2 client to n others, in the default configuration: decode
// and open the DATA, acknowledge it, run the handler chain, and for each
// recipient seal, encode and send the message, then decode and open that
// recipient's ACK. It calls HandleDatagram directly over a transport that
// sends nowhere, so the figure is the server's own cost, without the
// kernel's. One op is one message to all n recipients; allocs/rcpt and
// ns/rcpt divide by n.
func BenchmarkMessagePath(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			f := pathFixtureFor(b, n)
			b.ReportAllocs()
			sender, recipients := f.peers[0], f.peers[1:]
			const chunk = 32 // messages prepared, untimed, at a time
			data := make([][]byte, 0, chunk)
			acks := make([][][]byte, len(recipients))
			ctx := context.Background()
			var before, after runtime.MemStats
			var mallocs uint64
			b.ResetTimer()
			for done := 0; done < b.N; {
				k := min(chunk, b.N-done)
				b.StopTimer()
				data = data[:0]
				for range k {
					data = append(data, sender.seal(b, &core.Packet{Type: core.TypeData, Seq: sender.nextOut, HasSeq: true}, f.text))
					sender.nextOut++
				}
				for i, r := range recipients {
					acks[i] = acks[i][:0]
					for j := range k {
						acks[i] = append(acks[i], r.ack(b, r.nextIn+uint64(j)))
					}
					r.nextIn += uint64(k)
				}
				runtime.ReadMemStats(&before)
				b.StartTimer()
				// Each recipient acknowledges each message before the next
				// comes, so that every message goes alone: this is the path
				// of one message, not of a bundle (TestBundledBurst).
				for j, dg := range data {
					f.srv.HandleDatagram(ctx, dg, sender.addr)
					for i, r := range recipients {
						f.srv.HandleDatagram(ctx, acks[i][j], r.addr)
					}
				}
				b.StopTimer()
				runtime.ReadMemStats(&after)
				mallocs += after.Mallocs - before.Mallocs
				b.StartTimer()
				done += k
			}
			b.StopTimer()
			b.ReportMetric(float64(mallocs)/float64(b.N)/float64(n), "allocs/rcpt")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/rcpt")
			if got := f.srv.Stats(); got.Sessions != n+1 {
				b.Fatalf("%d sessions, want %d: a recipient fell behind", got.Sessions, n+1)
			}
		})
	}
}
