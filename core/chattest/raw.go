package chattest

import (
	"crypto/rsa"
	"net/netip"
	"testing"
	"time"

	"github.com/udpchat/udpchat/cipher/seed"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
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
	keys, err := in.Finish(rep.Payload)
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

// ExpectSilence checks that nothing arrives within wait.
func (c *RawClient) ExpectSilence(wait time.Duration) {
	c.t.Helper()
	if p := c.Read(wait); p != nil {
		c.t.Fatalf("raw client: got %v, want nothing", p)
	}
}
