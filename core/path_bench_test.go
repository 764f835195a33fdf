package core_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/time/rate"

	"github.com/udpchat/udpchat/cipher/seed"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/core/chattest"
	"github.com/udpchat/udpchat/core/stopwait"
)

// sinkTransport is a server transport that reads nothing and sends
// nowhere: what the server writes is counted, and, while record is set,
// decoded so that a benchmark can learn the sequence numbers its peers must
// acknowledge.
type sinkTransport struct {
	mu      sync.Mutex
	record  bool
	written int
	last    map[netip.AddrPort]*core.Packet // the last packet written to each address, while recording
	dataSeq map[netip.AddrPort][]uint64     // DATA seqs written to each address, while recording
}

func (s *sinkTransport) ReadFrom([]byte) (int, netip.AddrPort, error) {
	select {} // the benchmark calls HandleDatagram itself
}

func (s *sinkTransport) WriteTo(p []byte, to netip.AddrPort) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.written++
	if s.record {
		pkt, err := jsoncodec.Codec{}.Decode(p)
		if err != nil {
			panic(err)
		}
		s.last[to] = pkt
		if pkt.Type == core.TypeData {
			s.dataSeq[to] = append(s.dataSeq[to], pkt.Seq)
		}
	}
	return len(p), nil
}

func (s *sinkTransport) LocalAddr() netip.AddrPort { return chattest.Loopback }
func (s *sinkTransport) Close() error              { return nil }

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
	srv   *core.Server
	sink  *sinkTransport
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
	sink := &sinkTransport{record: true, last: map[netip.AddrPort]*core.Packet{}, dataSeq: map[netip.AddrPort][]uint64{}}
	_, id, _ := ed25519.GenerateKey(nil)
	srv, err := core.NewServer(core.ServerConfig{
		Transport: sink, Codec: jsoncodec.Codec{}, Suite: seed.Suite{}, Reliability: stopwait.Layer{},
		Identity: id, MaxSessions: n + 10, Rate: -1, HandshakeRate: rate.Inf,
	})
	if err != nil {
		b.Fatal(err)
	}
	f := &pathFixture{srv: srv, sink: sink}
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
		rep := sink.last[p.addr]
		if rep == nil || rep.Type != core.TypeKeyRep {
			b.Fatalf("peer %d: no KEY_REP", i)
		}
		if p.keys, err = in.Finish(rep.Payload, core.Handshake{Version: 2, SessionID: rep.Session}); err != nil {
			b.Fatal(err)
		}
		p.sid = rep.Session
		// The first PING confirms the session: the server admits it to the
		// room, and announces it to everyone already there.
		srv.HandleDatagram(ctx, p.seal(b, &core.Packet{Type: core.TypePing, Seq: 1, HasSeq: true}, nil), p.addr)
		f.peers = append(f.peers, p)
		f.ackAll(b)
	}
	sink.record = false
	f.text, err = jsoncodec.Codec{}.AppendMessage(nil, &core.Message{Kind: core.KindChat,
		Text: "0123456789012345678901234567890123456789012345678901234567890123"})
	if err != nil {
		b.Fatal(err)
	}
	pathFixtures[n] = f
	return f
}

// ackAll acknowledges every DATA the server has sent, until it sends no
// more (stop-and-wait sends the next only when the last is acknowledged).
func (f *pathFixture) ackAll(b *testing.B) {
	for {
		acked := false
		for _, p := range f.peers {
			seqs := f.sink.dataSeq[p.addr]
			for len(seqs) > 0 {
				seq := seqs[0]
				seqs = seqs[1:]
				f.sink.dataSeq[p.addr] = seqs
				if seq < p.nextIn {
					continue // a retransmission
				}
				p.nextIn = seq + 1
				f.srv.HandleDatagram(context.Background(), p.ack(b, seq), p.addr)
				acked = true
				seqs = f.sink.dataSeq[p.addr]
			}
		}
		if !acked {
			return
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
				for _, dg := range data {
					f.srv.HandleDatagram(ctx, dg, sender.addr)
				}
				for i, r := range recipients {
					for _, dg := range acks[i] {
						f.srv.HandleDatagram(ctx, dg, r.addr)
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
