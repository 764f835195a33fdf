package server_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
)

// Each test here is one of the seed's defects (docs/PROTOCOL.md), driven with
// a raw client that speaks the seed's bytes, so the server is seen doing the
// right thing where the seed did not. Absence is shown by order, not by
// waiting: after the packet that must have no effect, a good one is sent,
// and the next thing to arrive must be the good one's answer.

func joinRaw(t *testing.T, room *chattest.Room, key int) *chattest.RawClient {
	t.Helper()
	c := room.Raw()
	c.Handshake(chattest.Keys.Key(key))
	return c
}

// listenRaw is joinRaw for a seed client that is to hear the room: it
// says "here" first (seq 0), since the server sends a seed client nothing
// of the room before its first authentic DATA proves the address is its
// own (a KEY_REQ may come from a spoofed one).
func listenRaw(t *testing.T, room *chattest.Room, key int) *chattest.RawClient {
	t.Helper()
	c := joinRaw(t, room, key)
	c.SendData(0, "here")
	c.ExpectAck(0)
	return c
}

// TestBadMACNotAcked: the seed ACKs a DATA before checking its MAC, then drops
// it without advancing, and the session is dead. Here it is neither ACKed nor
// delivered, and the session goes on.
func TestBadMACNotAcked(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	sender, receiver := joinRaw(t, room, 0), listenRaw(t, room, 1)

	forged := sender.Seal("forged")
	forged[len(forged)-1] ^= 1
	sender.SendPacket(&core.Packet{Type: core.TypeData, Seq: 0, HasSeq: true, Payload: forged})
	sender.SendData(0, "first")
	sender.ExpectAck(0) // the ACK of "first": the forged one got none
	sender.SendData(1, "second")
	sender.ExpectAck(1)

	prefix := "<" + sender.Addr().String() + "> "
	for _, want := range []string{"first", "second"} {
		if got := receiver.ReadChat(); got != prefix+want {
			t.Fatalf("receiver got %q, want %q", got, prefix+want)
		}
	}
}

// TestRetriedKeyReqSameKey: a KEY_REQ sent again (its KEY_REP was lost) gets
// the same KEY_REP, so client and server agree on the key; the seed gave the
// retry a new key, kept it, and the client kept the first.
func TestRetriedKeyReqSameKey(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	c := room.Raw()
	hello, in := c.Hello(chattest.Keys.Key(0))
	c.SendPacket(hello)
	first := c.ReadType(core.TypeKeyRep)
	c.SendPacket(hello) // as if first had been lost
	second := c.ReadType(core.TypeKeyRep)
	if !bytes.Equal(first.Payload, second.Payload) {
		t.Fatal("a retried KEY_REQ got a different KEY_REP")
	}
	keys, err := in.Finish(first.Payload, core.Handshake{Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	c.Keys = keys
	c.SendData(0, "hi")
	c.ExpectAck(0)
	if n := room.Server.Stats().Handshake; n != 1 {
		t.Fatalf("%d sessions started, want 1", n)
	}
}

// TestRestartSameAddress: a client restarted on the same address with a new
// key gets a new session (the seed ignored it forever), starting at seq 0.
func TestRestartSameAddress(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	c, receiver := joinRaw(t, room, 0), listenRaw(t, room, 1)
	c.SendData(0, "before")
	c.ExpectAck(0)
	c.SendData(1, "before again")
	c.ExpectAck(1)

	c.Handshake(chattest.Keys.Key(2)) // same socket, new key: a restart
	c.SendData(0, "after")
	c.ExpectAck(0)

	prefix := "<" + c.Addr().String() + "> "
	for _, want := range []string{"before", "before again", "after"} {
		if got := receiver.ReadChat(); got != prefix+want {
			t.Fatalf("receiver got %q, want %q", got, prefix+want)
		}
	}
	if st := room.Server.Stats(); st.Sessions != 2 || st.Handshake != 3 {
		t.Fatalf("stats %+v: want 2 sessions after 3 handshakes", st)
	}
}

// TestReplayNewSeq: the seed's MAC does not cover seq, so a recorded payload
// replayed under the next seq was broadcast again. Here it is refused.
func TestReplayNewSeq(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	sender, receiver := joinRaw(t, room, 0), listenRaw(t, room, 1)
	recorded := sender.SendData(0, "pay Bob 10")
	sender.ExpectAck(0)
	sender.SendPacket(&core.Packet{Type: core.TypeData, Seq: 1, HasSeq: true, Payload: recorded})
	sender.SendData(1, "the real second")
	sender.ExpectAck(1)

	prefix := "<" + sender.Addr().String() + "> "
	for _, want := range []string{"pay Bob 10", "the real second"} {
		if got := receiver.ReadChat(); got != prefix+want {
			t.Fatalf("receiver got %q, want %q: the replay was relayed", got, prefix+want)
		}
	}
}

// TestTooLongForBroadcast: a DATA that fits in 4096 bytes would become a
// broadcast over 4096 bytes once the sender prefix is added, which seed
// clients cannot read. The server refuses it, tells the sender why, and sends
// nothing larger than 4096 bytes (RawClient fails the test if it does).
func TestTooLongForBroadcast(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	sender, receiver := joinRaw(t, room, 0), listenRaw(t, room, 1)

	text := strings.Repeat("z", 2975) // the longest that fits in the client's own DATA
	payload := sender.Seal(text)
	dg, _ := sender.Codec.Append(nil, &core.Packet{Type: core.TypeData, Seq: 0, HasSeq: true, Payload: payload})
	if len(dg) > core.MaxDatagram {
		t.Fatalf("test's DATA is %d bytes: it should fit", len(dg))
	}
	sender.Send(dg)
	notice := sender.ReadNotice("message too long")
	if !strings.HasPrefix(notice, "<server> message too long") {
		t.Fatalf("sender got %q, want a message too long notice", notice)
	}
	sender.ExpectAck(0) // handled, so the session goes on

	sender.SendData(1, "short")
	sender.ExpectAck(1)
	if got, want := receiver.ReadChat(), "<"+sender.Addr().String()+"> short"; got != want {
		t.Fatalf("receiver got %q, want %q", got, want)
	}
}

// TestInvalidFieldsDropped: the seed echoes seq whatever its JSON type and
// takes RSA keys of 512 bits. Here such packets are dropped unanswered.
func TestInvalidFieldsDropped(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	c := joinRaw(t, room, 0)

	payload := string(mustB64(c.Seal("x")))
	for _, seq := range []string{`"0"`, `{}`, `[0]`, `NaN`, `-1`, `0.5`, `1e0`, `null`, `true`} {
		c.Send([]byte(`{"type": "DATA", "seq": ` + seq + `, "payload": "` + payload + `"}`))
	}
	c.SendData(0, "valid")
	if p := c.ReadType(core.TypeAck); p.AckSeq != 0 {
		t.Fatalf("first answer %v, want the ACK of the valid DATA", p)
	}

	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&weak.PublicKey)
	small := room.Raw()
	small.SendPacket(&core.Packet{Type: core.TypeKeyReq, Payload: bytes.TrimSpace(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
	small.Handshake(chattest.Keys.Key(1)) // the first answer must be to this one
	if st := room.Server.Stats(); st.Handshake != 2 {
		t.Fatalf("%d handshakes, want 2: the 1024-bit key must get none", st.Handshake)
	}
}
