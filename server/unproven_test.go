package server_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
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
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

// Tests of what an address that has not proven it holds its session's keys
// can make the server do (issue 15): it may be a spoofed victim, so it is
// sent no more bytes than it sent, holds no nickname, costs a small fixed
// amount, and cannot keep its session alive by repeating its KEY_REQ.

// longText is a chat line near the longest a datagram carries, so that a
// room's history weighs as much as it can.
var longText = strings.Repeat("long line of chat ", 150)[:2700]

// fillRoom posts n long messages into the room from a seed client, each
// acknowledged before the next, and returns the client.
func fillRoom(t *testing.T, room *chattest.Room, n int) *chattest.RawClient {
	t.Helper()
	poster := joinRaw(t, room, 2)
	for i := range n {
		poster.SendData(uint64(i), fmt.Sprintf("%03d %s", i, longText))
		poster.ExpectAck(uint64(i))
	}
	return poster
}

// sendUnknownSession sends a DATA for a session no server has and waits
// for the BYE it gets: the server answers in order, so whatever the
// packets before it caused has been sent by then.
func sendUnknownSession(c *chattest.RawClient) {
	c.SendPacket(&core.Packet{Type: core.TypeData, Session: 1, Seq: 0, HasSeq: true, Payload: make([]byte, 64)})
	c.ReadType(core.TypeBye)
}

// TestAmplificationSum: from raw sockets that never prove their keys, every
// kind of packet an unproven address can send (KEY_REQs of both versions,
// codecs and suites, resent, with and without a cookie; garbage; DATA,
// PING, ACK and BYE under a bogus seal, for its own session and for a real
// one) into a room whose history is full of long messages. The server
// sends each address at most as many bytes as it received from it. Before
// issue 15 a version 1 KEY_REQ was answered with the KEY_REP and the whole
// history at once.
func TestAmplificationSum(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold int
	}{{"below the cookie threshold", 0}, {"cookies always", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			var counter *countingTransport
			room := chattest.Start(t, chattest.Options{
				Codecs: []core.Codec{jsoncodec.Codec{}, protobuf.Codec{}},
				Suite:  modern.Suite{}, // offered beside the seed's
				Server: func(cfg *server.Config) {
					counter = &countingTransport{Transport: cfg.Transport, in: map[netip.AddrPort]int{}, out: map[netip.AddrPort]int{}}
					cfg.Transport = counter
					cfg.History, cfg.CookieThreshold = 100, tc.threshold
					cfg.HandshakeLimit = server.RateLimit{} // every KEY_REQ may make state
					noRateLimit(cfg)
				},
			})
			fillRoom(t, room, 100)
			real := room.Raw() // a proven version 2 session, whose sid the attacker learned
			if tc.threshold < 0 {
				hello, _ := real.Hello(chattest.Keys.Key(1))
				hello.Version, hello.Nick, hello.Suites = 2, "real", []string{seed.Name}
				real.SendPacket(hello)
				real.Cookie = real.ReadType(core.TypeCookie).Cookie
			}
			real.HandshakeV2(chattest.Keys.Key(1), "real")
			real.SendPacket(real.SealPacket(&core.Packet{Type: core.TypePing, Seq: 1, HasSeq: true}, nil))
			real.ReadV2(core.TypePong)

			bogus := func(sid uint64) []*core.Packet {
				junk := bytes.Repeat([]byte{0xA5}, 96)
				return []*core.Packet{
					{Type: core.TypeData, Session: sid, Seq: 0, HasSeq: true, Payload: junk},
					{Type: core.TypeData, Session: sid, Seq: 5, HasSeq: true, Payload: junk},
					{Type: core.TypePing, Session: sid, Seq: 9, HasSeq: true, Payload: junk},
					{Type: core.TypeAck, Session: sid, AckSeq: 0, HasAckSeq: true, Payload: junk},
					{Type: core.TypeBye, Session: sid, Payload: junk},
				}
			}
			v2hello := func(c *chattest.RawClient, key int) *core.Packet {
				hello, _ := c.Hello(chattest.Keys.Key(key))
				hello.Version, hello.Nick, hello.Suites = 2, "victim", []string{seed.Name}
				return hello
			}
			kinds := map[string]func(c *chattest.RawClient){
				"v1 KEY_REQ, resent": func(c *chattest.RawClient) {
					hello, _ := c.Hello(chattest.Keys.Key(0))
					for range 3 {
						c.SendPacket(hello)
					}
				},
				"v1 KEY_REQ in protobuf": func(c *chattest.RawClient) {
					c.Codec = protobuf.Codec{}
					hello, _ := c.Hello(chattest.Keys.Key(0))
					c.SendPacket(hello)
				},
				"v1 KEY_REQ, then forged DATA": func(c *chattest.RawClient) {
					hello, _ := c.Hello(chattest.Keys.Key(1))
					c.SendPacket(hello)
					for seq := range uint64(3) {
						c.SendPacket(&core.Packet{Type: core.TypeData, Seq: seq, HasSeq: true, Payload: bytes.Repeat([]byte{1}, 80)})
					}
				},
				"v2 KEY_REQ, resent": func(c *chattest.RawClient) {
					hello := v2hello(c, 0)
					for range 3 {
						c.SendPacket(hello)
					}
				},
				"v2 KEY_REQ, bogus cookie": func(c *chattest.RawClient) {
					hello := v2hello(c, 1)
					hello.Cookie = bytes.Repeat([]byte{7}, server.CookieLen)
					c.SendPacket(hello)
				},
				"v2 KEY_REQ in protobuf": func(c *chattest.RawClient) {
					c.Codec = protobuf.Codec{}
					c.SendPacket(v2hello(c, 2))
				},
				"v2 KEY_REQ, modern suite": func(c *chattest.RawClient) {
					in, err := modern.Suite{}.NewInitiator(nil)
					if err != nil {
						t.Fatal(err)
					}
					hello := &core.Packet{Type: core.TypeKeyReq, Version: 2, Nick: "m", Suites: []string{modern.Name}, Payload: in.Hello()}
					c.SendPacket(hello)
					c.SendPacket(hello)
				},
				"v2 KEY_REQ, then bogus seals for its session": func(c *chattest.RawClient) {
					c.SendPacket(v2hello(c, 0))
					if tc.threshold < 0 {
						return // a COOKIE: no session to name
					}
					rep := c.ReadType(core.TypeKeyRep) // a spoofer would not see it; this one does
					for _, p := range bogus(rep.Session) {
						c.SendPacket(p)
					}
				},
				"bogus seals for a real session": func(c *chattest.RawClient) {
					for _, p := range bogus(real.Session) {
						c.SendPacket(p)
					}
				},
				"garbage": func(c *chattest.RawClient) {
					for _, b := range hostileDatagrams() {
						c.Send(b)
					}
				},
			}
			sockets := map[string]*chattest.RawClient{}
			for name, send := range kinds {
				c := room.Raw()
				send(c)
				sendUnknownSession(c)
				sockets[name] = c
			}
			// The room goes on meanwhile: nothing of it may reach them.
			real.SendV2Data(0, "the room is busy")
			real.ExpectAckV2(0)
			for _, c := range sockets {
				sendUnknownSession(c) // in order after whatever the room sent
			}

			counter.mu.Lock()
			defer counter.mu.Unlock()
			for name, c := range sockets {
				in, out := counter.in[c.Addr()], counter.out[c.Addr()]
				t.Logf("%s: %d bytes in, %d out (%.2f)", name, in, out, float64(out)/float64(in))
				if out > in {
					t.Errorf("%s: %d bytes answered for %d received", name, out, in)
				}
			}
		})
	}
}

// TestV1SentNothingBeforeProof: a seed client's session is sent nothing
// beyond its KEY_REP until its first authentic DATA, which proves the
// address is its own; then it is shown the history, and the room's
// messages from then on.
func TestV1SentNothingBeforeProof(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: noRateLimit})
	fillRoom(t, room, 3)
	listener := joinRaw(t, room, 0)
	other := room.Join()
	other.WaitDelivered(other.Say("said before it spoke"))
	listener.SendPacket(&core.Packet{Type: core.TypeData, Session: 1, Seq: 0, HasSeq: true, Payload: make([]byte, 64)})
	if p := listener.Read(chattest.Timeout); p == nil || p.Type != core.TypeBye {
		t.Fatalf("the first packet after the KEY_REP is %v, want the BYE of the probe: nothing of the room", p)
	}

	listener.SendData(0, "hello")
	var history []string
	for len(history) < 3 {
		if text := listener.ReadChat(); strings.Contains(text, "[history") {
			history = append(history, text)
		}
	}
	other.WaitMessage("the seed client's line", func(m core.Message) bool { return m.Text == "hello" })
	other.WaitDelivered(other.Say("after it spoke"))
	for {
		if text := listener.ReadChat(); strings.HasSuffix(text, "after it spoke") {
			break
		}
	}
}

// keyReqDatagrams returns n version 2 KEY_REQs of the modern suite (cheap
// to make), each with a nickname of its own.
func keyReqDatagrams(t *testing.T, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		in, err := modern.Suite{}.NewInitiator(nil)
		if err != nil {
			t.Fatal(err)
		}
		out[i], err = jsoncodec.Codec{}.Append(nil, &core.Packet{Type: core.TypeKeyReq, Version: 2,
			Nick: fmt.Sprintf("h%d", i), Suites: []string{modern.Name}, Payload: in.Hello()})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// heapNow is the live heap after a full collection.
func heapNow() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestUnconfirmedSessionMemory: 200 version 2 sessions that never confirm
// (a KEY_REQ each, resent while the room is busy with long messages) cost
// the server under 8 KiB each: the room's growth over the same number of
// messages without them is subtracted. The sockets are opened, and the
// KEY_REQs made, before the first measure, and nothing reads them, so the
// test's side costs nothing in between.
func TestUnconfirmedSessionMemory(t *testing.T) {
	const sessions, messages = 200, 100
	room := chattest.Start(t, chattest.Options{
		Suite: modern.Suite{},
		Server: func(cfg *server.Config) {
			cfg.CookieThreshold = 4 * sessions // below it: a KEY_REQ alone makes a session
			cfg.HandshakeLimit = server.RateLimit{}
			noRateLimit(cfg)
		},
		Logger: discardLogger(),
	})
	listener := room.Join()
	poster := fillRoom(t, room, messages)
	seq := uint64(messages)
	post := func(n int, between func()) {
		for i := range n {
			poster.SendData(seq, fmt.Sprintf("%03d %s", i, longText))
			poster.ExpectAck(seq)
			seq++
			if between != nil && i%25 == 24 {
				between()
			}
		}
	}
	hellos := keyReqDatagrams(t, sessions)
	conns := make([]*net.UDPConn, sessions)
	for i := range conns {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	to := net.UDPAddrFromAddrPort(room.Addr)
	sendAll := func() {
		for i, c := range conns {
			if _, err := c.WriteToUDP(hellos[i], to); err != nil {
				t.Fatal(err)
			}
		}
	}

	m0 := heapNow()
	post(messages, nil)
	m1 := heapNow()
	before := room.Server.Stats().Handshake
	sendAll()
	testkit.WaitUntil(t, "the sessions", func() bool { return room.Server.Stats().Handshake >= before+sessions })
	post(messages, sendAll)
	received := room.Server.Stats().Received
	testkit.WaitUntil(t, "the last KEY_REQs handled", func() bool {
		return room.Server.Stats().Received >= received && room.Server.Stats().Sessions >= sessions
	})
	listener.WaitChat(3 * messages)
	m2 := heapNow()
	if st := room.Server.Stats(); st.Handshake != before+sessions {
		t.Fatalf("%d handshakes, want %d: a resent KEY_REQ is answered from the session made", st.Handshake-before, sessions)
	}
	room.Server.Stats()
	perSession := (float64(m2) - float64(m1) - (float64(m1) - float64(m0))) / sessions
	t.Logf("heap: %d before, %d after %d messages, %d after %d more with %d unconfirmed sessions: %.0f bytes a session",
		m0, m1, messages, m2, messages, sessions, perSession)
	if perSession >= 8<<10 {
		t.Fatalf("an unconfirmed session costs %.0f bytes while the room is busy, want under 8 KiB", perSession)
	}
}

// TestUnconfirmedNotKeptAlive: a KEY_REQ resent every 10 s does not keep a
// session that never confirms alive: it ends IdleTimeout after it began,
// and the next resend is a new handshake.
func TestUnconfirmedNotKeptAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Server: func(cfg *server.Config) {
			cfg.IdleTimeout = time.Minute
			cfg.HandshakeLimit = server.RateLimit{}
		}})
		c := room.Raw()
		hello, _ := c.Hello(chattest.Keys.Key(0))
		hello.Version, hello.Nick, hello.Suites = 2, "squatter", []string{seed.Name}
		for range 18 { // three minutes
			c.SendPacket(hello)
			time.Sleep(10 * time.Second)
			synctest.Wait()
		}
		if n := room.Server.Stats().Handshake; n < 3 {
			t.Fatalf("%d handshakes in three minutes of resent KEY_REQs: the session was kept alive past its minute", n)
		}
		// Each ended without a word: its address never proved itself.
		for p := c.Read(time.Second); p != nil; p = c.Read(time.Second) {
			if p.Type != core.TypeKeyRep {
				t.Fatalf("an unproven address was sent %v", p)
			}
		}
	})
}

// TestNickNotHeldUnconfirmed: a forged KEY_REQ naming someone's nickname,
// never confirmed, does not take the nickname from them: only a confirmed
// session holds one. The squatter, should it confirm later, is told the
// name is taken.
func TestNickNotHeldUnconfirmed(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	squatter := room.Raw()
	hello, in := squatter.Hello(chattest.Keys.Key(0))
	hello.Version, hello.Nick, hello.Suites = 2, "alice", []string{seed.Name}
	squatter.SendPacket(hello)
	rep := squatter.ReadType(core.TypeKeyRep)
	if rep.Nick != "alice" {
		t.Fatalf("the first to ask is told %q", rep.Nick)
	}
	alice := room.JoinWith(nick("alice"))
	if alice.Name() != "alice" {
		t.Fatalf("the real alice is %q: an unconfirmed KEY_REQ holds her nickname", alice.Name())
	}
	bob := room.JoinWith(nick("bob"))
	bob.Say("/who")
	who := bob.WaitMessage("/who", func(m core.Message) bool { return strings.Contains(m.Text, "bob") })
	if !strings.Contains(who.Text, "alice") {
		t.Fatalf("/who is %q, want alice in it", who.Text)
	}

	// The squatter confirms after all: the name is alice's now.
	keys, err := in.Finish(rep.Payload, core.Handshake{Version: 2, SessionID: rep.Session})
	if err != nil {
		t.Fatal(err)
	}
	squatter.Keys, squatter.Session = keys, rep.Session
	squatter.SendPacket(squatter.SealPacket(&core.Packet{Type: core.TypePing, Seq: 1, HasSeq: true}, nil))
	for {
		_, plain := squatter.ReadV2(core.TypeData)
		if strings.Contains(string(plain), `nickname \"alice\" is taken; you are guest`) {
			break
		}
	}
	if alice.Name() != "alice" {
		t.Fatalf("alice is %q after the squatter confirmed", alice.Name())
	}
}

// keyReqWithModulus is a version 1 KEY_REQ whose "key" is a random odd
// modulus of bits bits, with exponent e: nobody holds its private key,
// but nothing the server can check cheaply tells it so.
func keyReqWithModulus(t *testing.T, bits, e int) *core.Packet {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
	if err != nil {
		t.Fatal(err)
	}
	n.SetBit(n, bits-1, 1).SetBit(n, 0, 1)
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: e})
	if err != nil {
		t.Fatal(err)
	}
	return &core.Packet{Type: core.TypeKeyReq, Payload: bytes.TrimSpace(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
}

// countingSuite counts the key exchanges a suite does: the RSA work.
type countingSuite struct {
	core.Suite
	responds *atomic.Int64
}

func (c countingSuite) Respond(r io.Reader, hello []byte, hs core.Handshake) ([]byte, core.SessionKeys, error) {
	c.responds.Add(1)
	return c.Suite.Respond(r, hello, hs)
}

// TestExpensiveKeysRefused: a KEY_REQ with a modulus over 4,096 bits, or an
// exponent over 65,537, is refused before any RSA work; a 4,096-bit key
// with the usual exponent is served; and a KEY_REQ resent is answered from
// the session already made, with no second key exchange.
func TestExpensiveKeysRefused(t *testing.T) {
	var responds atomic.Int64
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		cfg.Suite = countingSuite{Suite: cfg.Suite, responds: &responds}
		cfg.HandshakeLimit = server.RateLimit{}
	}})
	c := room.Raw()
	c.SendPacket(keyReqWithModulus(t, 8192, 65537))
	c.SendPacket(keyReqWithModulus(t, 4096, 1<<31-1))
	c.SendPacket(keyReqWithModulus(t, 2048, 1<<20+1))
	sendUnknownSession(c)
	if st := room.Server.Stats(); st.Handshake != 0 {
		t.Fatalf("%d sessions started by keys of 8,192 bits or exponents over 65,537", st.Handshake)
	}
	responds.Store(0) // those were refused by the key checks, before any RSA work
	big := keyReqWithModulus(t, 4096, 65537)
	for range 4 {
		c.SendPacket(big)
		c.ReadType(core.TypeKeyRep)
	}
	if st := room.Server.Stats(); st.Handshake != 1 || responds.Load() != 1 {
		t.Fatalf("%d sessions, %d key exchanges for a 4,096-bit KEY_REQ sent four times, want 1 and 1", st.Handshake, responds.Load())
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
