package chattest

import (
	"crypto/rsa"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/cipher/seed"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
)

// RawClient speaks the seed protocol one datagram at a time, with nothing
// done for it: no retries, no ordering, no checks. It is a seed client with
// every one of its moves in the test's hands.
type RawClient struct {
	t      testing.TB
	tr     core.Transport
	Server netip.AddrPort
	Codec  core.Codec
	Keys   core.SessionKeys
	// Session is the version 2 session id, once HandshakeV2 has run.
	Session uint64
	// Cookie, if set, is echoed in HandshakeV2's KEY_REQ: a server that
	// asks for cookies always answers none without it.
	Cookie []byte
	in     chan []byte
}

// Raw opens a raw client's socket on the room's network.
func (r *Room) Raw() *RawClient {
	r.t.Helper()
	tr, err := r.opts.Network.Listen(Loopback)
	if err != nil {
		r.t.Fatal(err)
	}
	c := &RawClient{t: r.t, tr: tr, Server: r.Addr, Codec: jsoncodec.Codec{}, in: make(chan []byte, 256)}
	go func() {
		defer close(c.in)
		buf := make([]byte, 65536)
		for {
			n, _, err := tr.ReadFrom(buf)
			if err != nil {
				return
			}
			c.in <- append([]byte(nil), buf[:n]...)
		}
	}()
	r.t.Cleanup(c.Close)
	return c
}

// Addr is the raw client's own address.
func (c *RawClient) Addr() netip.AddrPort { return c.tr.LocalAddr() }

// Close closes the socket.
func (c *RawClient) Close() {
	c.tr.Close()
	for range c.in {
	}
}

// Send sends b as one datagram.
func (c *RawClient) Send(b []byte) {
	c.t.Helper()
	if _, err := c.tr.WriteTo(b, c.Server); err != nil {
		c.t.Fatal(err)
	}
}

// TrySend sends b as one datagram and returns the error, for goroutines
// other than the test's, which must not call t.Fatal.
func (c *RawClient) TrySend(b []byte) error {
	_, err := c.tr.WriteTo(b, c.Server)
	return err
}

// SendPacket encodes p and sends it.
func (c *RawClient) SendPacket(p *core.Packet) {
	c.t.Helper()
	b, err := c.Codec.Append(nil, p)
	if err != nil {
		c.t.Fatal(err)
	}
	c.Send(b)
}

// Hello returns the KEY_REQ packet for key.
func (c *RawClient) Hello(key *rsa.PrivateKey) (*core.Packet, core.Initiator) {
	c.t.Helper()
	in, err := seed.NewInitiatorFromKey(key)
	if err != nil {
		c.t.Fatal(err)
	}
	return &core.Packet{Type: core.TypeKeyReq, Payload: in.Hello()}, in
}

// Handshake sends KEY_REQ for key and waits for the KEY_REP, keeping its keys.
// It returns the KEY_REP payload.
func (c *RawClient) Handshake(key *rsa.PrivateKey) []byte {
	c.t.Helper()
	hello, in := c.Hello(key)
	c.SendPacket(hello)
	rep := c.ReadType(core.TypeKeyRep)
	keys, err := in.Finish(rep.Payload, core.Handshake{Version: 1})
	if err != nil {
		c.t.Fatalf("raw client: KEY_REP: %v", err)
	}
	c.Keys = keys
	return rep.Payload
}

// Seal seals text with the session's keys.
func (c *RawClient) Seal(text string) []byte {
	c.t.Helper()
	b, err := c.Keys.Seal(nil, []byte(text), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// SendData sends text as DATA with seq and returns the sealed payload.
func (c *RawClient) SendData(seq uint64, text string) []byte {
	c.t.Helper()
	payload := c.Seal(text)
	c.SendPacket(&core.Packet{Type: core.TypeData, Seq: seq, HasSeq: true, Payload: payload})
	return payload
}

// Read returns the next datagram, decoded, or nil if none comes within wait.
func (c *RawClient) Read(wait time.Duration) *core.Packet {
	c.t.Helper()
	select {
	case b, ok := <-c.in:
		if !ok {
			c.t.Fatal("raw client: closed")
		}
		p, err := c.Codec.Decode(b)
		if err != nil {
			c.t.Fatalf("raw client: server sent an undecodable datagram %q: %v", b, err)
		}
		if len(b) > core.MaxDatagram {
			c.t.Fatalf("raw client: server sent %d bytes, more than the %d a seed client reads", len(b), core.MaxDatagram)
		}
		return p
	case <-time.After(wait):
		return nil
	}
}

// ReadType waits for the next packet of type typ, skipping others.
func (c *RawClient) ReadType(typ core.PacketType) *core.Packet {
	c.t.Helper()
	deadline := time.Now().Add(Timeout)
	for time.Now().Before(deadline) {
		if p := c.Read(time.Until(deadline)); p != nil && p.Type == typ {
			return p
		}
	}
	c.t.Fatalf("raw client: no %v within %v", typ, Timeout)
	return nil
}

// ReadChat waits for the next DATA that is not the server's own, and
// returns its plaintext.
func (c *RawClient) ReadChat() string {
	c.t.Helper()
	for {
		if text := c.ReadText(); !strings.HasPrefix(text, "<"+core.SystemSender+"> ") {
			return text
		}
	}
}

// ReadNotice waits for the next DATA from the server itself that contains
// want, skipping all else, and returns its plaintext.
func (c *RawClient) ReadNotice(want string) string {
	c.t.Helper()
	for {
		if text := c.ReadText(); strings.HasPrefix(text, "<"+core.SystemSender+"> ") && strings.Contains(text, want) {
			return text
		}
	}
}

// ReadText waits for the next DATA and returns its plaintext.
func (c *RawClient) ReadText() string {
	c.t.Helper()
	p := c.ReadType(core.TypeData)
	plain, err := c.Keys.Open(nil, p.Payload, nil)
	if err != nil {
		c.t.Fatalf("raw client: DATA does not open: %v", err)
	}
	return string(plain)
}

// ExpectAck waits for the ACK of seq.
func (c *RawClient) ExpectAck(seq uint64) {
	c.t.Helper()
	p := c.ReadType(core.TypeAck)
	if !p.HasAckSeq || p.AckSeq != seq {
		c.t.Fatalf("raw client: got %v, want ACK of seq %d", p, seq)
	}
}

// HandshakeV2 runs a version 2 handshake for key, asking for nick, checks
// the server's signature, and keeps the session's keys and id.
func (c *RawClient) HandshakeV2(key *rsa.PrivateKey, nick string) *core.Packet {
	c.t.Helper()
	hello, in := c.Hello(key)
	hello.Version, hello.Nick, hello.Suites, hello.Cookie = 2, nick, []string{seed.Name}, c.Cookie
	c.SendPacket(hello)
	rep := c.ReadType(core.TypeKeyRep)
	if rep.Version != 2 || rep.Session == 0 {
		c.t.Fatalf("raw client: not a version 2 KEY_REP: %v", rep)
	}
	err := identity.Verify(rep.ServerKey, identity.Transcript{
		Hello: hello.Payload, Reply: rep.Payload, Suites: hello.Suites, Nick: rep.Nick,
		Suite: rep.Suite, SessionID: rep.Session, ServerKey: rep.ServerKey,
	}, rep.Sig)
	if err != nil {
		c.t.Fatalf("raw client: KEY_REP: %v", err)
	}
	keys, err := in.Finish(rep.Payload, core.Handshake{Version: 2, SessionID: rep.Session})
	if err != nil {
		c.t.Fatalf("raw client: KEY_REP: %v", err)
	}
	c.Keys, c.Session = keys, rep.Session
	return rep
}

// SealPacket seals plaintext under p's header, in the raw client's version 2
// session, and returns p with its payload.
func (c *RawClient) SealPacket(p *core.Packet, plaintext []byte) *core.Packet {
	c.t.Helper()
	p.Session = c.Session
	sealed, err := c.Keys.Seal(nil, plaintext, p.AD())
	if err != nil {
		c.t.Fatal(err)
	}
	p.Payload = sealed
	return p
}

// SendV2Data sends text as a version 2 chat message with seq, and returns
// the packet sent.
func (c *RawClient) SendV2Data(seq uint64, text string) *core.Packet {
	c.t.Helper()
	plain, err := jsoncodec.Codec{}.AppendMessage(nil, &core.Message{Kind: core.KindChat, Text: text})
	if err != nil {
		c.t.Fatal(err)
	}
	p := c.SealPacket(&core.Packet{Type: core.TypeData, Seq: seq, HasSeq: true}, plain)
	c.SendPacket(p)
	return p
}

// ReadV2 waits for the next packet of type typ in the session, opens it and
// returns it with its plaintext; for DATA it acknowledges it, as a client
// must for the server to go on.
func (c *RawClient) ReadV2(typ core.PacketType) (*core.Packet, []byte) {
	c.t.Helper()
	p, plain := c.OpenV2(typ)
	if typ == core.TypeData {
		c.AckV2(p.Seq)
	}
	return p, plain
}

// OpenV2 is ReadV2 without the ACK: the server's DATA stays in flight.
func (c *RawClient) OpenV2(typ core.PacketType) (*core.Packet, []byte) {
	c.t.Helper()
	p := c.ReadType(typ)
	plain, err := c.Keys.Open(nil, p.Payload, p.AD())
	if err != nil {
		c.t.Fatalf("raw client: %v does not open: %v", p, err)
	}
	return p, plain
}

// AckV2 acknowledges the server's DATA seq, in the raw client's version 2
// session.
func (c *RawClient) AckV2(seq uint64) {
	c.t.Helper()
	c.SendPacket(c.SealPacket(&core.Packet{Type: core.TypeAck, AckSeq: seq, HasAckSeq: true}, nil))
}

// AckV2Window acknowledges the server's DATA seq, and all below cum, and
// advertises the window wnd in its plaintext, as a client does.
func (c *RawClient) AckV2Window(seq, cum uint64, wnd uint32) {
	c.t.Helper()
	c.SendPacket(c.SealPacket(&core.Packet{Type: core.TypeAck, AckSeq: seq, HasAckSeq: true, Cum: cum, HasCum: true},
		core.AppendWindowAdvert(nil, wnd)))
}

// ExpectAckV2 waits for the version 2 ACK of seq.
func (c *RawClient) ExpectAckV2(seq uint64) {
	c.t.Helper()
	p, _ := c.ReadV2(core.TypeAck)
	if !p.HasAckSeq || p.AckSeq != seq {
		c.t.Fatalf("raw client: got %v, want ACK of seq %d", p, seq)
	}
}

// AnswerChallenge waits for the server's path challenge (a PING of the
// session, docs/PROTOCOL.md, "Path validation") and echoes it in a PONG, as
// a client does when the server sees it at a new address.
func (c *RawClient) AnswerChallenge() {
	c.t.Helper()
	p, plain := c.OpenV2(core.TypePing)
	c.SendPacket(c.SealPacket(&core.Packet{Type: core.TypePong, Seq: p.Seq, HasSeq: p.HasSeq}, plain))
}

// Clone opens another socket that speaks in this raw client's session: the
// same client, seen from a new address (a NAT rebinding, or a roaming laptop).
func (c *RawClient) Clone(r *Room) *RawClient {
	c.t.Helper()
	n := r.Raw()
	n.Keys, n.Session = c.Keys, c.Session
	return n
}
