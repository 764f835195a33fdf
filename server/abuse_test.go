package server_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
)

// muted is a client's transport that can stop sending: a client that
// still hears the room but whose ACKs (and everything else) no longer
// reach the server, as behind a broken uplink.
type muted struct {
	core.Transport
	off *atomic.Bool
}

// WriteTo drops p once the transport is muted.
func (m muted) WriteTo(p []byte, addr netip.AddrPort) (int, error) {
	if m.off.Load() {
		return len(p), nil
	}
	return m.Transport.WriteTo(p, addr)
}

// stallBudget is the most the room waits for its far-behind recipients, per
// message, all of them together (server/fanout.go's stallMax).
const stallBudget = 100 * time.Millisecond

// TestSilentRecipientsShareOneHold: 60 recipients stop acknowledging at
// once, all equally behind. The room waits for them, but one budget per
// message, not one per recipient: a burst of N messages is acknowledged to
// its sender within N budgets (and some slack), not N×60, and an honest
// recipient gets every message, in order.
func TestSilentRecipientsShareOneHold(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		noRateLimit(cfg)
		cfg.HandshakeLimit = server.RateLimit{} // sixty joins from one address
		cfg.RecipientQueue = 8                  // the room waits for a recipient 2 behind
	}})
	const silent, n = 60, 20
	var off atomic.Bool
	var quiet []*chattest.Client
	for i := range silent {
		quiet = append(quiet, room.JoinWith(func(cfg *client.Config) {
			cfg.Nick = fmt.Sprintf("quiet%d", i)
			cfg.Transport = muted{cfg.Transport, &off}
		}))
	}
	alice, bob := room.Join(), room.Join()
	// Everyone is caught up: the last join reached every silent one, and
	// its ACK reached the server.
	for _, q := range quiet {
		q.WaitMessage("bob's join", func(m core.Message) bool { return m.Text == bob.Name()+" joined" })
	}
	alice.WaitMessage("bob's join", func(m core.Message) bool { return m.Text == bob.Name()+" joined" })
	off.Store(true)

	start := time.Now()
	var ids []uint64
	for i := range n {
		ids = append(ids, alice.Say(fmt.Sprint(i)))
	}
	alice.WaitDelivered(ids...)
	took := time.Since(start)
	bound := n*stallBudget + time.Second
	t.Logf("%d messages past %d silent recipients acknowledged in %v (bound %v)", n, silent, took, bound)
	if took > bound {
		t.Errorf("a burst of %d took %v to be acknowledged, over %v: the hold is per recipient, not per message", n, took, bound)
	}
	for i, m := range bob.WaitChat(n) {
		if m.Text != fmt.Sprint(i) {
			t.Fatalf("bob's message %d is %q", i, m.Text)
		}
	}
}

// dupFlood is how many duplicates a flood test sends: far more than any
// honest retransmission, fewer than would take the test long.
const dupFlood = 20000

// flood sends b n times from c, from four goroutines at once, while the
// test goes on; wait waits for them.
func flood(c *chattest.RawClient, n int, b func(i int) []byte) (wait func()) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < n; i += 4 {
				if c.TrySend(b(i)) != nil {
					return // the test is over
				}
			}
		})
	}
	return wg.Wait
}

// acksBefore reads what comes to c until the ACK of marker, sending
// marker's DATA again (resend) each second it does not come, as a client
// would, since a flood may have crowded it out of a socket's buffer. It
// returns how many ACKs of other seqs came first.
func acksBefore(t *testing.T, c *chattest.RawClient, marker uint64, resend func()) int {
	t.Helper()
	n := 0
	deadline := time.Now().Add(chattest.Timeout)
	for time.Now().Before(deadline) {
		p := c.Read(time.Second)
		switch {
		case p == nil:
			resend()
		case p.Type == core.TypeAck && p.HasAckSeq && p.AckSeq == marker:
			return n
		case p.Type == core.TypeAck:
			n++
		}
	}
	t.Fatalf("no ACK of the marker seq %d within %v", marker, chattest.Timeout)
	return n
}

// chatting has two honest clients talk while a flood runs: every message
// must be delivered and heard, and it says how long the ACKs took.
func chatting(t *testing.T, room *chattest.Room) (wait func()) {
	alice, bob := room.Join(), room.Join()
	const n = 20
	start := time.Now()
	var ids []uint64
	for i := range n {
		ids = append(ids, alice.Say(fmt.Sprint("honest ", i)))
	}
	return func() {
		t.Helper()
		alice.WaitDelivered(ids...)
		t.Logf("%d honest messages acknowledged in %v during the flood", n, time.Since(start))
		for i, m := range bob.WaitChat(n) {
			if m.Text != fmt.Sprint("honest ", i) {
				t.Fatalf("bob's message %d is %q", i, m.Text)
			}
		}
	}
}

// TestDuplicateJunkNotAcked: a version 1 DATA under a seq already taken is
// a duplicate, but its payload must still be authentic to be answered: a
// flood of them with junk payloads gets no ACK at all (the seed re-ACKed
// every one, unchecked), the honest clients' messages all get through, and
// a real retransmission, the same sealed bytes again, is still ACKed, as
// a seed client's stop-and-wait needs.
func TestDuplicateJunkNotAcked(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: noRateLimit})
	flooder := joinRaw(t, room, 0)
	flooder.SendData(0, "first")
	flooder.ExpectAck(0)

	honest := chatting(t, room)
	junk := func(i int) []byte {
		payload := make([]byte, 64)
		binary.BigEndian.PutUint64(payload, uint64(i))
		b, err := flooder.Codec.Append(nil, &core.Packet{Type: core.TypeData, Seq: 0, HasSeq: true, Payload: payload})
		if err != nil {
			panic(err)
		}
		return b
	}
	flood(flooder, dupFlood, junk)()
	honest()
	marker := flooder.SendData(1, "marker")
	resend := func() {
		flooder.SendPacket(&core.Packet{Type: core.TypeData, Seq: 1, HasSeq: true, Payload: marker})
	}
	if n := acksBefore(t, flooder, 1, resend); n > 0 {
		t.Errorf("%d duplicates with junk payloads were acknowledged", n)
	}
	resend() // a real retransmission: the same bytes
	flooder.ExpectAck(1)
}

// Duplicates are answered at most dupBurst at once, then dupRate a second,
// per session (server/receive.go's constants).
const (
	dupBurst = 64
	dupRate  = 32
)

// TestDuplicateAnswersRated: an authentic DATA recorded and sent again and
// again (a replay, which a version 2 session cannot tell from a
// retransmission) is answered at the rate of duplicates, not once per
// copy; honest clients get through meanwhile, and the sender's own
// retransmission is answered once the flood stops.
func TestDuplicateAnswersRated(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprint("v", version), func(t *testing.T) {
			room := chattest.Start(t, chattest.Options{Server: noRateLimit})
			c := room.Raw()
			var dup, marker func() []byte
			if version == 1 {
				c.Handshake(chattest.Keys.Key(0))
				first := c.SendData(0, "first")
				c.ExpectAck(0)
				dup = func() []byte { return v1Data(t, c, 0, first) }
				payload := c.Seal("marker")
				marker = func() []byte { return v1Data(t, c, 1, payload) }
			} else {
				c.HandshakeV2(chattest.Keys.Key(0), "replayer")
				first := c.SendV2Data(0, "first")
				c.ExpectAckV2(0)
				dup = func() []byte { return v2Data(t, c, first) }
				p := c.SealPacket(&core.Packet{Type: core.TypeData, Seq: 1, HasSeq: true}, v2Text(t, "marker"))
				marker = func() []byte { return v2Data(t, c, p) }
			}
			honest := chatting(t, room)
			b := dup()
			start := time.Now()
			flood(c, dupFlood, func(int) []byte { return b })()
			honest()
			m := marker()
			n := acksBefore(t, c, 1, func() { c.Send(m) })
			most := dupBurst + int(time.Since(start).Seconds()*dupRate) + 1
			t.Logf("%d copies of one DATA answered %d times (at most %d)", dupFlood, n, most)
			if n > most {
				t.Errorf("%d copies of one DATA were answered %d times, more than the %d the rate allows", dupFlood, n, most)
			}
			// The sender retransmits seq 1, its ACK lost: it is answered
			// (after the rate lets it, if the flood used the burst up).
			if n := acksBefore(t, c, 1, func() { c.Send(m) }); n > 0 {
				t.Errorf("%d more answers to the flood", n)
			}
		})
	}
}

// v1Data is a version 1 DATA with seq and payload, encoded.
func v1Data(t *testing.T, c *chattest.RawClient, seq uint64, payload []byte) []byte {
	return encode(t, c, &core.Packet{Type: core.TypeData, Seq: seq, HasSeq: true, Payload: payload})
}

// v2Data is the version 2 DATA p, encoded.
func v2Data(t *testing.T, c *chattest.RawClient, p *core.Packet) []byte { return encode(t, c, p) }

func encode(t *testing.T, c *chattest.RawClient, p *core.Packet) []byte {
	t.Helper()
	b, err := c.Codec.Append(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// v2Text is a version 2 chat message's plaintext.
func v2Text(t *testing.T, text string) []byte {
	t.Helper()
	b, err := jsoncodec.Codec{}.AppendMessage(nil, &core.Message{Kind: core.KindChat, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// handlerDeadline is the longest a message waits for its verdict, in the
// handler queue and the handlers together: server.DefaultHandlerDeadline.
const handlerDeadline = 5 * time.Second

// TestSlowHandlerBounded: a handler that takes 1.8 s a message (most of a
// plugin's 2 s timeout) and 8 users sending 2 messages each at once. One
// worker runs the chain, so the last message's turn comes 28.8 s later,
// past every client's patience. Each message must have its verdict within
// the handler deadline (and some slack) of its sending: delivered, or
// refused with "server busy", never left hanging.
func TestSlowHandlerBounded(t *testing.T) {
	const users, each, work = 8, 2, 1800 * time.Millisecond
	slow := func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
			select {
			case <-time.After(work):
			case <-ctx.Done():
				return ctx.Err()
			}
			return next.HandleMessage(ctx, m)
		})
	}
	room := chattest.Start(t, chattest.Options{Server: func(cfg *server.Config) {
		noRateLimit(cfg)
		cfg.Handlers = []core.Middleware{slow}
	}})
	var clients []*chattest.Client
	for i := range users {
		clients = append(clients, room.JoinWith(nick(fmt.Sprint("user", i))))
	}
	start := time.Now()
	ids := make([][]uint64, users)
	for i, c := range clients {
		for j := range each {
			ids[i] = append(ids[i], c.Say(fmt.Sprintf("%d.%d", i, j)))
		}
	}
	// A client sends its second message once the first has its verdict:
	// every first verdict is due within the bound of the start, every
	// second one within twice it. Verdicts are read in turn, so each is
	// seen when it and all before it have come: its arrival at the latest.
	bound := handlerDeadline + time.Second
	delivered, busy := 0, 0
	for j := range each {
		for i, c := range clients {
			ok, refused, failed := c.WaitVerdict(ids[i][j])
			took := time.Since(start)
			switch {
			case failed != nil:
				t.Errorf("message %d.%d failed at its sender: %v", i, j, failed)
			case ok:
				delivered++
			case strings.Contains(refused, "server busy"):
				busy++
			default:
				t.Errorf("message %d.%d refused for %q", i, j, refused)
			}
			if took > time.Duration(j+1)*bound {
				t.Errorf("message %d.%d had its verdict after %v, over %v", i, j, took, time.Duration(j+1)*bound)
			}
		}
	}
	t.Logf("%d messages behind a %v handler: %d delivered, %d refused as busy, all within %v",
		users*each, work, delivered, busy, time.Since(start))
	if delivered == 0 {
		t.Errorf("nothing delivered")
	}
}
