package server_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/udp"
)

// Path validation (docs/PROTOCOL.md, "Path validation"). UDP on loopback
// cannot forge a source address, so the server's transport does it for the
// attacker: what arrives from a forger's socket is seen as coming from the
// victim's address, as a network without source filtering would deliver
// it, while what the server sends to the victim's address reaches the
// victim's own socket. The transport also counts the bytes each way.
type spoofingTransport struct {
	countingTransport
	fmu    sync.Mutex
	forged map[netip.AddrPort]netip.AddrPort // forger's real address → the one it forges
}

func newSpoofing(tr core.Transport) *spoofingTransport {
	return &spoofingTransport{
		countingTransport: countingTransport{Transport: tr, in: map[netip.AddrPort]int{}, out: map[netip.AddrPort]int{}},
		forged:            map[netip.AddrPort]netip.AddrPort{},
	}
}

// forge makes every datagram from forger arrive as if from victim.
func (s *spoofingTransport) forge(forger, victim netip.AddrPort) {
	s.fmu.Lock()
	s.forged[forger] = victim
	s.fmu.Unlock()
}

func (s *spoofingTransport) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	n, from, err := s.Transport.ReadFrom(p)
	if err != nil {
		return n, from, err
	}
	s.fmu.Lock()
	if v, ok := s.forged[from]; ok {
		from = v
	}
	s.fmu.Unlock()
	s.mu.Lock()
	s.in[from] += n
	s.mu.Unlock()
	return n, from, nil
}

// bytes returns what the server received from and sent to addr so far.
func (s *spoofingTransport) bytes(addr netip.AddrPort) (in, out int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.in[addr], s.out[addr]
}

// spoofRoom starts a room whose server reads through a spoofingTransport.
func spoofRoom(t *testing.T) (*chattest.Room, *spoofingTransport) {
	var spoof *spoofingTransport
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		spoof = newSpoofing(cfg.Transport)
		cfg.Transport = spoof
		noRateLimit(cfg)
	}})
	return room, spoof
}

// attacker returns a raw version 2 client whose session is confirmed, and a
// second socket in the same session (it holds the keys) whose datagrams the
// server sees as coming from victim.
func attacker(t *testing.T, room *chattest.Room, spoof *spoofingTransport, victim netip.AddrPort) (a, forger *chattest.RawClient) {
	t.Helper()
	a = room.Raw()
	a.HandshakeV2(chattest.Keys.Key(2), "mallory")
	a.SendPacket(a.SealPacket(&core.Packet{Type: core.TypePing, Seq: 1, HasSeq: true}, []byte("12345678")))
	a.ReadV2(core.TypePong) // confirmed, at its own address
	forger = a.Clone(room)
	spoof.forge(forger.Addr(), victim)
	return a, forger
}

// blindAck acknowledges, from a's own address, whatever DATA of a's session
// is in flight, wherever it went: its cum covers every seq.
func blindAck(a *chattest.RawClient) {
	a.SendPacket(a.SealPacket(&core.Packet{Type: core.TypeAck, AckSeq: 0, HasAckSeq: true, Cum: 1 << 62, HasCum: true}, nil))
}

// TestForgedPathNotTaken (issue 15, finding 3): one sealed, fresh PING of
// the attacker's own session, with the victim's address forged as its
// source, and blind ACKs from the attacker's real address, must not turn
// the room's traffic on the victim. The server sends the victim's address
// at most three times what arrived from it (a path challenge, which the
// attacker cannot answer), and the attacker's session stays where it was:
// the attacker's own socket still gets the room's messages.
//
// With more forged packets (fresh PINGs and ACKs, each of which may send
// the challenge again) the bound holds all the same.
func TestForgedPathNotTaken(t *testing.T) {
	t.Run("one PING", func(t *testing.T) { forgedPath(t, 1) })
	t.Run("five PINGs and ACKs", func(t *testing.T) { forgedPath(t, 5) })
}

func forgedPath(t *testing.T, forgeries int) {
	room, spoof := spoofRoom(t)
	listener := room.JoinWith(nick("listener"))
	talker := room.JoinWith(nick("talker"))
	victim := room.Raw() // an address with no session at all
	a, forger := attacker(t, room, spoof, victim.Addr())

	for i := range forgeries {
		forger.SendPacket(forger.SealPacket(&core.Packet{Type: core.TypePing, Seq: uint64(2 + i), HasSeq: true}, []byte("12345678")))
		if i > 0 {
			blindAck(forger)
		}
	}
	victim.Read(chattest.Timeout) // the server answered the forged PING there, somehow
	const n = 12
	for i := range n {
		text := fmt.Sprintf("busy room %d", i)
		talker.WaitDelivered(talker.Say(text))
		listener.WaitMessage(text, func(m core.Message) bool { return m.Text == text })
		blindAck(a)
	}

	in, out := spoof.bytes(victim.Addr())
	t.Logf("victim's address: %d bytes in (forged), %d bytes out (%.1fx)", in, out, float64(out)/float64(in))
	if out > 3*in {
		t.Fatalf("the server sent the victim's address %d bytes for the %d it received from it: more than 3x", out, in)
	}
	// The session did not move: the room's messages still reach the
	// attacker's own socket.
	want := fmt.Sprintf("busy room %d", n-1)
	for {
		_, plain := a.ReadV2(core.TypeData)
		if strings.Contains(string(plain), want) {
			break
		}
	}
}

// TestSeedAddressNotTaken (issue 15, finding 4): the same forged move onto
// the address of a live version 1 client does not lock that client out:
// its DATA is still taken and acknowledged, the attacker's traffic does not
// come to it, and its new KEY_REQ (a restart on the same port) is answered.
func TestSeedAddressNotTaken(t *testing.T) {
	room, spoof := spoofRoom(t)
	listener := room.JoinWith(nick("listener"))
	seedc := joinRaw(t, room, 0)
	_, forger := attacker(t, room, spoof, seedc.Addr())

	forger.SendPacket(forger.SealPacket(&core.Packet{Type: core.TypePing, Seq: 2, HasSeq: true}, []byte("12345678")))
	seedc.SendData(0, "still mine")
	// Its ACK comes, and nothing of the attacker's session before it (the
	// room's notices to it, version 1, may).
	ackedInOwnSession(t, seedc)
	listener.WaitMessage("the seed client's message", func(m core.Message) bool { return m.Text == "still mine" })

	seedc.Handshake(chattest.Keys.Key(1)) // a restart on the same port
	seedc.SendData(0, "restarted")
	seedc.ExpectAck(0)
	listener.WaitMessage("the restarted seed client's message", func(m core.Message) bool { return m.Text == "restarted" })
}

// ackedInOwnSession waits for the ACK of c's DATA 0, and fails if c is sent
// anything of another session first (its Session is 0 in version 1): the
// attacker's session did not take c's address.
func ackedInOwnSession(t *testing.T, c *chattest.RawClient) {
	t.Helper()
	for {
		p := c.Read(chattest.Timeout)
		if p == nil {
			t.Fatalf("%v: its DATA was not acknowledged: it is locked out", c.Addr())
		}
		if p.Session != c.Session {
			t.Fatalf("%v got %v, of the attacker's session", c.Addr(), p)
		}
		if p.Type == core.TypeAck && p.AckSeq == 0 {
			return
		}
	}
}

// TestV2AddressNotTaken (finding 4, version 2): a forged move onto the
// address of a live version 2 client sends that client nothing of the
// attacker's session, and it goes on chatting.
func TestV2AddressNotTaken(t *testing.T) {
	room, spoof := spoofRoom(t)
	listener := room.JoinWith(nick("listener"))
	v := room.Raw()
	v.HandshakeV2(chattest.Keys.Key(0), "victim")
	_, forger := attacker(t, room, spoof, v.Addr())

	forger.SendPacket(forger.SealPacket(&core.Packet{Type: core.TypePing, Seq: 2, HasSeq: true}, []byte("12345678")))
	v.SendV2Data(0, "still mine")
	ackedInOwnSession(t, v)
	listener.WaitMessage("the victim's message", func(m core.Message) bool { return m.Text == "still mine" })
}

// rebinding is a client's transport whose source port changes when the
// test says, as a NAT's mapping does: the old socket is closed, so what
// the server still sends there is lost.
type rebinding struct {
	mu  sync.Mutex
	cur core.Transport
}

func (r *rebinding) now() core.Transport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// rebind moves to a new socket and closes the old one.
func (r *rebinding) rebind(t *testing.T) netip.AddrPort {
	t.Helper()
	tr, err := udp.Network{}.Listen(chattest.Loopback)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	old := r.cur
	r.cur = tr
	r.mu.Unlock()
	old.Close()
	return tr.LocalAddr()
}

func (r *rebinding) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	for {
		tr := r.now()
		n, from, err := tr.ReadFrom(p)
		if errors.Is(err, net.ErrClosed) && r.now() != tr {
			continue // rebound: read the new socket
		}
		return n, from, err
	}
}

func (r *rebinding) WriteTo(p []byte, to netip.AddrPort) (int, error) { return r.now().WriteTo(p, to) }
func (r *rebinding) LocalAddr() netip.AddrPort                        { return r.now().LocalAddr() }
func (r *rebinding) Close() error                                     { return r.now().Close() }

// TestNATRebinding: a client whose source port changes keeps its session:
// the server validates the new path (the client answers its challenge) and
// then sends the room's messages there. No reconnect, no new session.
func TestNATRebinding(t *testing.T) {
	for _, codec := range []core.Codec{jsoncodec.Codec{}, protobuf.Codec{}} {
		t.Run(codec.Name(), func(t *testing.T) { natRebinding(t, codec) })
	}
}

func natRebinding(t *testing.T, codec core.Codec) {
	room := chattest.Start(t, chattest.Options{Server: noRateLimit, Codecs: []core.Codec{codec}})
	talker := room.JoinWith(nick("talker"))
	var nat *rebinding
	mover := room.JoinWith(func(cfg *client.Config) {
		nick("mover")(cfg)
		nat = &rebinding{cur: cfg.Transport}
		cfg.Transport = nat
		cfg.Keepalive = 100 * time.Millisecond // so that a listener's PING comes soon after the rebinding
	})
	talker.WaitDelivered(talker.Say("before"))
	mover.WaitMessage("before", func(m core.Message) bool { return m.Text == "before" })
	sid := mover.Info().Session

	to := nat.rebind(t)
	t.Logf("the mover's port changed to %v", to)
	talker.WaitDelivered(talker.Say("after"))
	mover.WaitMessage("after", func(m core.Message) bool { return m.Text == "after" })
	mover.WaitDelivered(mover.Say("from the new port"))
	talker.WaitMessage("from the new port", func(m core.Message) bool { return m.Text == "from the new port" })
	if got := mover.Info().Session; got != sid {
		t.Fatalf("the mover is in session %016x now, was %016x: it reconnected", got, sid)
	}
}
