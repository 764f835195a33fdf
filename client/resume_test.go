package client_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/modern"
	"github.com/udpchat/udpchat/client"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/transport/memory"
)

// fakeServer is the server side of resume as docs/PROTOCOL.md ("Resume")
// states it, one move at a time in the test's hands: it answers KEY_REQs,
// sends the session message and room messages with the offsets the test
// chooses, and ends sessions. It checks nothing a real server checks: the
// tests check what the client sends it.
type fakeServer struct {
	t     *testing.T
	tr    core.Transport
	codec jsoncodec.Codec
	suite modern.Suite
	key   ed25519.PrivateKey
	in    chan arrival
	wg    sync.WaitGroup

	// The session at hand, owned by the test's goroutine.
	client netip.AddrPort
	sid    uint64
	keys   core.SessionKeys
	seq    uint64 // the next server-to-client DATA seq
}

func newFakeServer(t *testing.T, network *memory.Network) *fakeServer {
	tr, err := network.Listen(chattest.Loopback)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, tr: tr, key: key, in: make(chan arrival, 256)}
	s.wg.Go(func() {
		defer close(s.in)
		buf := make([]byte, core.MaxDatagram)
		for {
			n, from, err := tr.ReadFrom(buf)
			if err != nil {
				return
			}
			p, err := s.codec.Decode(buf[:n])
			if err != nil {
				continue
			}
			s.in <- arrival{p, from}
		}
	})
	t.Cleanup(func() {
		tr.Close()
		for range s.in {
		}
		s.wg.Wait()
	})
	return s
}

// arrival is a packet from a client.
type arrival struct {
	p    *core.Packet
	from netip.AddrPort
}

// next waits for the next packet of type typ from the client, skipping
// the rest (PINGs, ACKs).
func (s *fakeServer) next(typ core.PacketType) *core.Packet {
	s.t.Helper()
	deadline := time.After(chattest.Timeout)
	for {
		select {
		case a, ok := <-s.in:
			if !ok {
				s.t.Fatal("fake server closed")
			}
			if a.p.Type == typ {
				s.client = a.from
				return a.p
			}
		case <-deadline:
			s.t.Fatalf("fake server: no %v within %v", typ, chattest.Timeout)
		}
	}
}

// accept waits for a KEY_REQ, answers it with a new session giving the
// client nick, and returns the KEY_REQ.
func (s *fakeServer) accept(sid uint64, nick string) *core.Packet {
	s.t.Helper()
	req := s.next(core.TypeKeyReq)
	reply, keys, err := s.suite.Respond(rand.Reader, req.Payload, core.Handshake{Version: 2, SessionID: sid})
	if err != nil {
		s.t.Fatal(err)
	}
	pub := s.key.Public().(ed25519.PublicKey)
	sig := identity.Sign(s.key, identity.Transcript{Hello: req.Payload, Reply: reply, Suites: req.Suites, Nick: nick,
		Suite: s.suite.Name(), SessionID: sid, ServerKey: pub})
	s.sid, s.keys, s.seq = sid, keys, 0
	s.write(&core.Packet{Type: core.TypeKeyRep, Version: 2, Session: sid, Nick: nick, Suite: s.suite.Name(),
		ServerKey: pub, Sig: sig, Payload: reply})
	return req
}

func (s *fakeServer) write(p *core.Packet) {
	s.t.Helper()
	b, err := s.codec.Append(nil, p)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.tr.WriteTo(b, s.client); err != nil {
		s.t.Fatal(err)
	}
}

// seal sends p sealed in the session at hand.
func (s *fakeServer) seal(p *core.Packet, plain []byte) {
	s.t.Helper()
	p.Session = s.sid
	sealed, err := s.keys.Seal(nil, plain, p.AD())
	if err != nil {
		s.t.Fatal(err)
	}
	p.Payload = sealed
	s.write(p)
}

// send sends each message in a DATA of its own.
func (s *fakeServer) send(ms ...core.Message) {
	s.t.Helper()
	for _, m := range ms {
		plain, err := s.codec.AppendMessage(nil, &m)
		if err != nil {
			s.t.Fatal(err)
		}
		s.seal(&core.Packet{Type: core.TypeData, Seq: s.seq, HasSeq: true}, plain)
		s.seq++
	}
}

// session sends the session message: the log's epoch and the token.
func (s *fakeServer) session(epoch uint64, token [core.ResumeTokenLen]byte) {
	s.t.Helper()
	s.send(core.Message{Kind: core.KindSession, ID: epoch, From: core.SystemSender, Text: hex.EncodeToString(token[:])})
}

// read waits for the client's next DATA, acknowledges it with verdict
// (empty: accepted), and returns its text.
func (s *fakeServer) read(verdict string) string {
	s.t.Helper()
	p := s.next(core.TypeData)
	plain, err := s.keys.Open(nil, p.Payload, p.AD())
	if err != nil {
		s.t.Fatal(err)
	}
	m, err := s.codec.DecodeMessage(plain)
	if err != nil {
		s.t.Fatal(err)
	}
	s.seal(&core.Packet{Type: core.TypeAck, AckSeq: p.Seq, HasAckSeq: true, Cum: p.Seq + 1, HasCum: true}, []byte(verdict))
	return m.Text
}

// lose tells the client the server does not know its session, as a
// restarted server does, so that it reconnects.
func (s *fakeServer) lose() {
	s.t.Helper()
	s.write(&core.Packet{Type: core.TypeBye, Session: s.sid})
}

// fakeClient is a client of a fakeServer, whose events the test reads in
// order.
type fakeClient struct {
	*client.Client
	t *testing.T
}

func dialFake(t *testing.T, network *memory.Network, s *fakeServer, edit func(*client.Config)) *fakeClient {
	tr, err := network.Listen(chattest.Loopback)
	if err != nil {
		t.Fatal(err)
	}
	cfg := client.Config{
		Transport: tr, Server: s.tr.LocalAddr(), Codec: jsoncodec.Codec{}, Suite: modern.Suite{},
		Reliability: stopwait.Layer{}, ReliabilityConfig: core.ReliabilityConfig{RTO: 50 * time.Millisecond, MaxRetries: 3},
		HandshakeRTO: 200 * time.Millisecond, HandshakeRetries: 20, Keepalive: time.Minute,
		Nick: "alice", Reconnect: true,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.Run(ctx) })
	t.Cleanup(func() {
		cancel() // the client emits no event once ctx is done: nothing to drain
		wg.Wait()
	})
	return &fakeClient{Client: c, t: t}
}

// until reads events until one matches, and returns it with the messages
// shown before it.
func (c *fakeClient) until(what string, match func(client.Event) bool) (client.Event, []client.MessageEvent) {
	c.t.Helper()
	var shown []client.MessageEvent
	deadline := time.After(chattest.Timeout)
	for {
		select {
		case e := <-c.Events():
			if match(e) {
				return e, shown
			}
			if m, ok := e.(client.MessageEvent); ok {
				shown = append(shown, m)
			}
		case <-deadline:
			c.t.Fatalf("no %s within %v", what, chattest.Timeout)
		}
	}
}

// ticket waits for the next TicketEvent.
func (c *fakeClient) ticket() client.Ticket {
	c.t.Helper()
	e, _ := c.until("ticket", func(e client.Event) bool { _, ok := e.(client.TicketEvent); return ok })
	return e.(client.TicketEvent).Ticket
}

// shows has s send ms, and then a marker, and returns what c showed of
// them (shownUntil the marker).
func (c *fakeClient) shows(s *fakeServer, ms ...core.Message) (texts []string, offsets []uint64) {
	c.t.Helper()
	s.send(append(ms, core.Message{Kind: core.KindSystem, From: core.SystemSender, Text: "end"})...)
	return c.shownUntil("end")
}

// shownUntil returns the texts of the messages shown before the one whose
// text is end, and their offsets.
func (c *fakeClient) shownUntil(end string) (texts []string, offsets []uint64) {
	c.t.Helper()
	_, shown := c.until("message "+end, func(e client.Event) bool {
		m, ok := e.(client.MessageEvent)
		return ok && m.Message.Text == end
	})
	for _, m := range shown {
		texts, offsets = append(texts, m.Message.Text), append(offsets, m.Offset)
	}
	return texts, offsets
}

func (c *fakeClient) connected() {
	c.t.Helper()
	c.until("connected", func(e client.Event) bool {
		s, ok := e.(client.StateEvent)
		return ok && s.State == client.StateConnected
	})
}

// checkResume checks the resume claim a KEY_REQ carries: the lost
// session, where it stood, and a proof under its token of this very
// KEY_REQ's hello and nickname.
func checkResume(t *testing.T, req *core.Packet, want client.Ticket) {
	t.Helper()
	if req.Nick != want.Nick {
		t.Errorf("KEY_REQ asks for %q, want %q", req.Nick, want.Nick)
	}
	r, err := core.ParseResume(req.Resume)
	if err != nil {
		t.Fatalf("KEY_REQ carries no resume: %v", err)
	}
	if r.Session != want.Session || r.Epoch != want.Epoch || r.Offset != want.Offset {
		t.Errorf("resume of session %x epoch %d offset %d, want %x, %d, %d", r.Session, r.Epoch, r.Offset, want.Session, want.Epoch, want.Offset)
	}
	if r.Proof != core.ResumeProof(want.Token[:], req.Payload, req.Nick) {
		t.Error("the resume's proof is not the token's over the KEY_REQ's hello and nickname")
	}
}

func token(b byte) (t [core.ResumeTokenLen]byte) {
	for i := range t {
		t[i] = b + byte(i)
	}
	return t
}

func chat(id uint64, text string) core.Message {
	return core.Message{Kind: core.KindChat, ID: id, From: "bob", Text: text}
}

// TestResumeDedupe: the client remembers the session message (never
// shown), shows each room offset once however often it comes, in one
// session or replayed in the next, never drops a message for it alone (ID
// 0), and resumes the lost session with a proof bound to its new KEY_REQ,
// under the nickname the server gave it.
func TestResumeDedupe(t *testing.T) {
	network := memory.NewNetwork()
	s := newFakeServer(t, network)
	c := dialFake(t, network, s, nil)

	if req := s.accept(0x1111, "alice_2"); len(req.Resume) != 0 || req.Nick != "alice" {
		t.Fatalf("a first KEY_REQ with no ticket asks for %q with resume %x", req.Nick, req.Resume)
	}
	c.connected()
	s.session(7, token(1))
	want := client.Ticket{Session: 0x1111, Epoch: 7, Token: token(1), Nick: "alice_2"}
	if got := c.ticket(); got != want {
		t.Fatalf("ticket %+v, want %+v", got, want)
	}
	private := core.Message{Kind: core.KindPrivate, From: "bob", To: "alice_2", Text: "psst"}
	texts, offsets := c.shows(s, chat(1, "one"), chat(2, "two"), chat(2, "two again"), chat(1, "one again"), private, private)
	if strings.Join(texts, ",") != "one,two,psst,psst" || len(offsets) != 4 || offsets[0] != 1 || offsets[1] != 2 || offsets[2] != 0 {
		t.Fatalf("shown %q at offsets %v, want one, two (1, 2) and psst twice (0)", texts, offsets)
	}

	s.lose()
	req := s.accept(0x2222, "alice_2")
	want.Offset = 2
	checkResume(t, req, want)
	c.connected()
	s.session(7, token(2))
	if got := c.ticket(); got.Session != 0x2222 || got.Token != token(2) || got.Epoch != 7 || got.Offset != 2 {
		t.Fatalf("ticket after resuming %+v", got)
	}
	if texts, _ := c.shows(s, chat(2, "two replayed"), chat(3, "three")); strings.Join(texts, ",") != "three" {
		t.Fatalf("after resuming, shown %q, want three only", texts)
	}
}

// TestResumeEpochChanged: a session in another epoch of the room's log
// than the one the client knew means the server restarted: the client
// says messages were missed, and counts offsets afresh.
func TestResumeEpochChanged(t *testing.T) {
	network := memory.NewNetwork()
	s := newFakeServer(t, network)
	c := dialFake(t, network, s, nil)
	s.accept(1, "alice")
	s.session(7, token(1))
	s.send(chat(5, "five"))
	c.ticket()
	c.shownUntil("five")

	s.lose()
	checkResume(t, s.accept(2, "alice"), client.Ticket{Session: 1, Epoch: 7, Offset: 5, Token: token(1), Nick: "alice"})
	s.session(8, token(2))
	e, _ := c.until("missed-messages notice", func(e client.Event) bool { _, ok := e.(client.NoticeEvent); return ok })
	if n := e.(client.NoticeEvent).Text; n != "missed messages: server restarted" {
		t.Fatalf("notice %q", n)
	}
	if got := c.ticket(); got.Epoch != 8 || got.Offset != 0 {
		t.Fatalf("ticket in the new epoch %+v, want epoch 8 from offset 0", got)
	}
	if texts, _ := c.shows(s, chat(1, "one"), chat(6, "six"), chat(6, "six again")); strings.Join(texts, ",") != "one,six" {
		t.Fatalf("in the new epoch, shown %q, want one, six", texts)
	}
}

// TestReconnectKeepsNick: after a /nick the server accepted, the client
// reconnects under its new nickname, not the configured one; a /nick the
// server refused changes nothing.
func TestReconnectKeepsNick(t *testing.T) {
	network := memory.NewNetwork()
	s := newFakeServer(t, network)
	c := dialFake(t, network, s, nil)
	s.accept(1, "alice")
	c.connected()
	s.session(3, token(9))
	c.ticket()

	if _, err := c.Send(context.Background(), "/nick  carol "); err != nil {
		t.Fatal(err)
	}
	if text := s.read(""); text != "/nick  carol " {
		t.Fatalf("server got %q", text)
	}
	if got := c.ticket(); got.Nick != "carol" || got.Session != 1 {
		t.Fatalf("ticket after /nick %+v, want nick carol", got)
	}
	if _, err := c.Send(context.Background(), "/nick dave"); err != nil {
		t.Fatal(err)
	}
	s.read("nickname \"dave\" is taken")
	c.until("refusal", func(e client.Event) bool { _, ok := e.(client.RefusedEvent); return ok })

	s.lose()
	checkResume(t, s.accept(2, "carol"), client.Ticket{Session: 1, Epoch: 3, Token: token(9), Nick: "carol"})
}

// TestResumeFromTicket: a client given the ticket of an earlier process
// resumes on its first handshake, under the ticket's nickname, and shows
// nothing the earlier process showed.
func TestResumeFromTicket(t *testing.T) {
	network := memory.NewNetwork()
	s := newFakeServer(t, network)
	ticket := client.Ticket{Session: 42, Epoch: 9, Offset: 10, Token: token(5), Nick: "carol"}
	c := dialFake(t, network, s, func(cfg *client.Config) { cfg.Resume = &ticket })
	checkResume(t, s.accept(43, "carol"), ticket)
	c.connected()
	s.session(9, token(6))
	if got := c.ticket(); got.Offset != 10 || got.Session != 43 {
		t.Fatalf("ticket %+v, want session 43 from offset 10", got)
	}
	if texts, _ := c.shows(s, chat(10, "ten"), chat(11, "eleven")); strings.Join(texts, ",") != "eleven" {
		t.Fatalf("shown %q, want eleven only", texts)
	}
}

// TestNoEpochNoDedupe: a server that sends no session message numbers its
// messages as it likes, so nothing is dropped for its IDs, and nothing is
// resumed: a reconnect asks for a new session.
func TestNoEpochNoDedupe(t *testing.T) {
	network := memory.NewNetwork()
	s := newFakeServer(t, network)
	c := dialFake(t, network, s, nil)
	s.accept(1, "alice")
	texts, offsets := c.shows(s, chat(4, "four"), chat(4, "four again"), chat(1, "one"))
	if strings.Join(texts, ",") != "four,four again,one" || offsets[0] != 0 {
		t.Fatalf("shown %q at offsets %v, want all three at offset 0", texts, offsets)
	}
	s.lose()
	if req := s.accept(2, "alice"); len(req.Resume) != 0 {
		t.Fatalf("resumed with no ticket: %x", req.Resume)
	}
}
