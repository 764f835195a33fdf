package server_test

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/modern"
	"github.com/udpchat/udpchat/cipher/seed"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

// hostileDatagrams are what an attacker, or a broken peer, may send.
func hostileDatagrams() map[string][]byte {
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"not JSON":          []byte("hello there"),
		"truncated JSON":    []byte(`{"type": "DATA", "seq": 0, "payl`),
		"seq a string":      []byte(`{"type": "DATA", "seq": "0", "payload": "AAAA"}`),
		"type a number":     []byte(`{"type": 3, "payload": "AAAA"}`),
		"payload an object": []byte(`{"type": "KEY_REQ", "payload": {}}`),
		"invalid base64":    []byte(`{"type": "KEY_REQ", "payload": "%%%not base64%%%"}`),
		"huge base64":       []byte(`{"type": "KEY_REQ", "payload": "` + strings.Repeat("QUFB", 1010) + `"}`),
		"oversize":          []byte(`{"type": "KEY_REQ", "payload": "` + strings.Repeat("QUFB", 1100) + `"}`),
		"invalid PEM":       []byte(`{"type": "KEY_REQ", "payload": "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KZ2FyYmFnZQotLS0tLUVORCBQVUJMSUMgS0VZLS0tLS0="}`),
		"random bytes":      random,
		"empty object":      []byte(`{}`),
		"empty":             {},
		"DATA, no session":  []byte(`{"type": "DATA", "seq": 0, "payload": "AAAA"}`),
		"ACK to the server": []byte(`{"type": "ACK", "ack_seq": 0}`),
		"KEY_REP to server": []byte(`{"type": "KEY_REP", "payload": "AAAA"}`),
	}
}

// TestHostileDatagrams: garbage of every kind is dropped and logged, the
// server answers none of it, and then still serves new clients.
func TestHostileDatagrams(t *testing.T) {
	var logs testkit.Buffer
	room := chattest.Start(t, chattest.Options{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	attacker := room.Raw()
	hostile := hostileDatagrams()
	for _, b := range hostile {
		attacker.Send(b)
	}
	// The attacker's next good KEY_REQ gets the first answer it sees: none of
	// the garbage was answered.
	attacker.Handshake(chattest.Keys.Key(0))

	if st := room.Server.Stats(); st.Dropped != uint64(len(hostile)) {
		t.Errorf("server dropped %d datagrams, want %d", st.Dropped, len(hostile))
	}
	if n := strings.Count(logs.String(), "dropped datagram"); n != len(hostile) {
		t.Errorf("%d drops logged, want %d:\n%s", n, len(hostile), logs.String())
	}
	a, b := room.Join(), room.Join()
	a.WaitDelivered(a.Say("still here"))
	if got := b.WaitChat(1)[0].Text; got != "still here" {
		t.Fatalf("got %q after the garbage", got)
	}
}

// newFuzzServer returns a server on an in-memory network with a version 1
// session at one address and a version 2 session at another, so fuzzed
// packets reach the session code of both versions, not just the decoder. Its
// randomness is seeded, so the version 2 session id is the same on every
// run, and corpus entries sealed for it stay valid; sealed returns such
// packets.
func newFuzzServer(tb testing.TB) (srv *server.Server, v1, v2 netip.AddrPort, sealed [][]byte) {
	network := memory.NewNetwork()
	tr, err := network.Listen(chattest.Loopback)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tr.Close() })
	_, id, _ := ed25519.GenerateKey(nil)
	srv, err = server.New(server.Config{
		Transport: tr, Codec: jsoncodec.Codec{}, Suite: seed.Suite{}, Reliability: stopwait.Layer{}, Identity: id,
		History: server.DefaultHistory, RateLimit: server.DefaultRateLimit, HandshakeLimit: server.DefaultHandshakeLimit,
		Env: core.Env{Rand: rand.NewChaCha8([32]byte{'f', 'u', 'z', 'z'})},
	})
	if err != nil {
		tb.Fatal(err)
	}
	v1 = netip.MustParseAddrPort("127.0.0.1:40000")
	v2 = netip.MustParseAddrPort("127.0.0.1:40001")
	client, err := network.Listen(v2) // to read the version 2 KEY_REP
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	codec := jsoncodec.Codec{}
	for i, from := range []netip.AddrPort{v1, v2} {
		in, err := seed.NewInitiatorFromKey(chattest.Keys.Key(i))
		if err != nil {
			tb.Fatal(err)
		}
		p := &core.Packet{Type: core.TypeKeyReq, Payload: in.Hello()}
		if from == v2 {
			p.Version, p.Nick = 2, "fuzzer"
		}
		hello, _ := codec.Append(nil, p)
		srv.HandleDatagram(context.Background(), hello, from)
		if from != v2 {
			continue
		}
		buf := make([]byte, core.MaxDatagram)
		n, _, err := client.ReadFrom(buf)
		if err != nil {
			tb.Fatal(err)
		}
		rep, err := codec.Decode(buf[:n])
		if err != nil {
			tb.Fatal(err)
		}
		keys, err := in.Finish(rep.Payload, core.Handshake{Version: 2, SessionID: rep.Session})
		if err != nil {
			tb.Fatal(err)
		}
		seal := func(p *core.Packet, plain string) []byte {
			p.Session = rep.Session
			p.Payload, _ = keys.Seal(nil, []byte(plain), p.AD())
			b, _ := codec.Append(nil, p)
			return b
		}
		for j, text := range []string{"hello", "/who", "/nick fuzzy", "/msg fuzzer hi", "/me fuzzes"} {
			sealed = append(sealed, seal(&core.Packet{Type: core.TypeData, Seq: uint64(j), HasSeq: true}, `{"kind": "chat", "text": "`+text+`"}`))
		}
		sealed = append(sealed,
			seal(&core.Packet{Type: core.TypeAck, AckSeq: 0, HasAckSeq: true}, ""),
			seal(&core.Packet{Type: core.TypePing, Seq: 1, HasSeq: true}, "12345678"))
	}
	if srv.Stats().Sessions != 2 {
		tb.Fatal("fuzz server: no sessions")
	}
	return srv, v1, v2, sealed
}

// FuzzServerDatagram feeds the server's packet entry point arbitrary bytes
// from an address with a version 1 session or one with a version 2 session.
// Nothing may panic, and the server must never hold more sessions than the
// two addresses can have.
func FuzzServerDatagram(f *testing.F) {
	for _, b := range hostileDatagrams() {
		f.Add(false, b)
		f.Add(true, b)
	}
	f.Add(false, []byte(`{"type": "DATA", "seq": 0, "payload": "L66j9VA89MjFjlhZ7GT9VPMoOQRLQiDWTls4hO0ODKE8JHzM3lk4dmvdHu+gpSWqv2vAIj20SiHhIa4FSwmXPA=="}`))
	f.Add(false, []byte(`{"type": "DATA", "seq": 18446744073709551615, "payload": ""}`))
	f.Add(true, []byte(`{"type": "KEY_REQ", "v": 2, "nick": "x", "suites": ["nope"], "payload": "AAAA"}`))
	srv, v1, v2, sealed := newFuzzServer(f)
	for _, b := range sealed {
		f.Add(true, b)
	}
	f.Fuzz(func(t *testing.T, second bool, b []byte) {
		from := v1
		if second {
			from = v2
		}
		srv.HandleDatagram(context.Background(), b, from)
		if n := srv.Stats().Sessions; n > 2 {
			t.Fatalf("%d sessions from two addresses", n)
		}
	})
}

// TestIdleEviction: a session that says nothing for the idle timeout ends,
// and the server stops sending to it; the seed broadcast to every address
// that ever joined, forever.
//
// It runs on synctest's clock, over the in-memory network: the idle timeout
// passes at once, so the eviction is checked, not waited for.
func TestIdleEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idle = 300 * time.Millisecond
		room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Server: func(cfg *server.Config) {
			cfg.V1IdleTimeout = idle
		}})
		quiet := joinRaw(t, room, 0)
		time.Sleep(idle / 2)
		synctest.Wait()
		if n := room.Server.Stats().Sessions; n != 1 {
			t.Fatalf("%d sessions halfway through the idle timeout, want 1", n)
		}
		time.Sleep(idle + time.Second/4) // the server looks for idle sessions every quarter second
		synctest.Wait()
		if n := room.Server.Stats().Sessions; n != 0 {
			t.Fatalf("%d sessions after the idle timeout, want 0", n)
		}
		talker := joinRaw(t, room, 1)
		talker.SendData(0, "anyone?")
		talker.ExpectAck(0)
		if st := room.Server.Stats(); st.Relayed != 0 {
			t.Fatalf("relayed %d datagrams to an evicted session", st.Relayed)
		}
		_ = quiet
	})
}

// TestForeignCodecDropped: a datagram for a session in a codec the session
// did not start in is dropped, changes nothing, and the session goes on.
func TestForeignCodecDropped(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Codecs: []core.Codec{jsoncodec.Codec{}, protobuf.Codec{}}})
	c := joinRaw(t, room, 0) // a JSON session
	dropped := room.Server.Stats().Dropped
	foreign, err := protobuf.Codec{}.Append(nil, &core.Packet{Type: core.TypeData, Seq: 0, HasSeq: true, Payload: c.Seal("sneaky")})
	if err != nil {
		t.Fatal(err)
	}
	c.Send(foreign)
	c.SendData(0, "proper")
	c.ExpectAck(0) // the first answer: the foreign one got none
	if d := room.Server.Stats().Dropped - dropped; d != 1 {
		t.Fatalf("%d dropped, want the foreign datagram", d)
	}
}

// countingTransport counts the bytes a server reads from and writes to each
// address.
type countingTransport struct {
	core.Transport
	mu      sync.Mutex
	in, out map[netip.AddrPort]int
}

func (c *countingTransport) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	n, from, err := c.Transport.ReadFrom(p)
	if err == nil {
		c.mu.Lock()
		c.in[from] += n
		c.mu.Unlock()
	}
	return n, from, err
}

func (c *countingTransport) WriteTo(p []byte, to netip.AddrPort) (int, error) {
	c.mu.Lock()
	c.out[to] += len(p)
	c.mu.Unlock()
	return c.Transport.WriteTo(p, to)
}

// TestNoAmplification: to an address that has not completed a handshake
// (it may be a spoofed victim) the server never sends more bytes than it
// received from it, whatever it is sent: handshakes of both versions and
// codecs, retried ones, garbage, and packets for sessions it does not know.
func TestNoAmplification(t *testing.T) {
	var counter *countingTransport
	room := chattest.Start(t, chattest.Options{
		Codecs: []core.Codec{jsoncodec.Codec{}, protobuf.Codec{}},
		Suite:  modern.Suite{}, // offered beside the seed's
		Server: func(cfg *server.Config) {
			counter = &countingTransport{Transport: cfg.Transport, in: map[netip.AddrPort]int{}, out: map[netip.AddrPort]int{}}
			cfg.Transport = counter
		},
	})
	var sockets []*chattest.RawClient
	for i, codec := range []core.Codec{jsoncodec.Codec{}, protobuf.Codec{}} {
		for _, v2 := range []bool{false, true} {
			c := room.Raw()
			c.Codec = codec
			hello, _ := c.Hello(chattest.Keys.Key(i))
			if v2 {
				hello.Version, hello.Nick, hello.Suites = 2, "victim", []string{seed.Name}
			}
			for range 3 { // retried, as a spoofer would to multiply answers
				c.SendPacket(hello)
			}
			c.ReadType(core.TypeKeyRep)
			sockets = append(sockets, c)
		}
	}
	// The modern suite's hello is a 32-byte key: padded, so that its
	// KEY_REQ outweighs the signed KEY_REP.
	for _, codec := range []core.Codec{jsoncodec.Codec{}, protobuf.Codec{}} {
		c := room.Raw()
		c.Codec = codec
		in, err := modern.Suite{}.NewInitiator(nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SendPacket(&core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "m", Suites: []string{modern.Name}, Payload: in.Hello()})
		c.ReadType(core.TypeKeyRep)
		sockets = append(sockets, c)
	}
	junk := room.Raw()
	for _, b := range hostileDatagrams() {
		junk.Send(b)
	}
	for _, p := range []core.Packet{
		{Type: core.TypeData, Session: 12345, Seq: 0, HasSeq: true, Payload: make([]byte, 64)},
		{Type: core.TypePing, Session: 999, Seq: 1, HasSeq: true, Payload: make([]byte, 64)},
	} {
		junk.SendPacket(&p)
	}
	junk.ReadType(core.TypeBye) // the unknown-session answer went out
	// A last good handshake from junk's address, answered last: everything
	// before it has been handled.
	junk.Handshake(chattest.Keys.Key(2))

	counter.mu.Lock()
	defer counter.mu.Unlock()
	for addr, out := range counter.out {
		in := counter.in[addr]
		t.Logf("%v: %d bytes in, %d out (%.2f)", addr, in, out, float64(out)/float64(in))
		if out > in {
			t.Errorf("%v: %d bytes sent for %d received", addr, out, in)
		}
	}
	if len(counter.out) != len(sockets)+1 {
		t.Fatalf("answers went to %d addresses, want %d", len(counter.out), len(sockets)+1)
	}
}
