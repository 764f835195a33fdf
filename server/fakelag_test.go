package server_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/window"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

// The rate limit delays, it does not drop (IRC's "fakelag"): these tests
// run on synctest's clock, over the in-memory network, so that the waits
// are the limit's and nothing else's.

// TestSeedPasteDelayed: a seed client pasting 100 lines at once, one DATA
// at a time as stop-and-wait sends them, under udpchat-server's default
// limit (20 at once, then 2 a second): every line reaches the room, in
// order, none refused; the first 20 at once, then no faster than the rate,
// and no slower either, the held ACK being all that paces the client.
func TestSeedPasteDelayed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Server: func(cfg *server.Config) {
			cfg.RateLimit = server.DefaultRateLimit
		}})
		sender, receiver := joinRaw(t, room, 0), listenRaw(t, room, 1)
		const n = 100
		burst, rate := server.DefaultRateLimit.Burst, server.DefaultRateLimit.Rate
		every := time.Duration(float64(time.Second) / rate)
		start := time.Now()
		for i := range n {
			sender.SendData(uint64(i), fmt.Sprintf("line %d", i))
			sender.ExpectAck(uint64(i))
			// The bucket is full at the start: the i-th line may go once
			// i-burst+1 tokens have come back.
			earliest := time.Duration(max(i-burst+1, 0)) * every
			if waited := time.Since(start); waited < earliest {
				t.Fatalf("line %d acknowledged after %v, want no sooner than %v", i, waited, earliest)
			}
		}
		want := time.Duration(n-burst) * every
		if took := time.Since(start); took > want+time.Second {
			t.Fatalf("%d lines took %v, want about %v: the limit held them longer than the rate needs", n, took, want)
		}
		prefix := "<" + sender.Addr().String() + "> "
		for i := range n {
			if got, want := receiver.ReadChat(), prefix+fmt.Sprintf("line %d", i); got != want {
				t.Fatalf("receiver got %q, want %q", got, want)
			}
		}
		if got := room.Server.Stats().Accepted; got != n+1 {
			t.Fatalf("server accepted %d messages, want %d and the receiver's first", got, n)
		}
	})
}

// TestSeedRetransmitWhileHeld: a seed client sends a DATA again every 2 s
// while its ACK is held by the limit. The copies are answered by the
// original's ACK, once the wait is over, not before and not each with an
// ACK of its own; the line is relayed once. A copy after the ACK (the ACK
// was lost) is answered at once, and relayed no more.
func TestSeedRetransmitWhileHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const every = 5 * time.Second // a token every 5 s: less than a seed waits
		room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Server: func(cfg *server.Config) {
			cfg.RateLimit = server.RateLimit{Rate: 1 / every.Seconds(), Burst: 1, MaxLag: server.DefaultRateLimit.MaxLag}
		}})
		sender, receiver := joinRaw(t, room, 0), listenRaw(t, room, 1)
		sender.SendData(0, "first")
		sender.ExpectAck(0)

		start := time.Now()
		held := sender.SendData(1, "held")
		for range 2 {
			time.Sleep(2 * time.Second) // the seed's RTO
			sender.SendPacket(&core.Packet{Type: core.TypeData, Seq: 1, HasSeq: true, Payload: held})
		}
		sender.ExpectAck(1)
		if waited := time.Since(start); waited < every {
			t.Fatalf("the held line was acknowledged after %v, want %v", waited, every)
		}
		sender.SendPacket(&core.Packet{Type: core.TypeData, Seq: 1, HasSeq: true, Payload: held}) // its ACK was lost
		sender.ExpectAck(1)
		sender.SendData(2, "next")
		sender.ExpectAck(2) // the next ACK: none more for seq 1 was queued

		prefix := "<" + sender.Addr().String() + "> "
		for _, want := range []string{"first", "held", "next"} {
			if got := receiver.ReadChat(); got != prefix+want {
				t.Fatalf("receiver got %q, want %q: a copy was relayed again", got, prefix+want)
			}
		}
	})
}

// TestSeedWaitBounded: a seed client gives up on a DATA 12 s after sending
// it, so its messages are never held past 10 s, whatever MaxLag says: one
// that would wait longer is refused at once, with a notice, and its ACK
// (which a seed reads as "handed on") comes at once too.
func TestSeedWaitBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Server: func(cfg *server.Config) {
			cfg.RateLimit = server.RateLimit{Rate: 1.0 / 20, Burst: 1, MaxLag: time.Minute}
		}})
		sender, receiver := joinRaw(t, room, 0), listenRaw(t, room, 1)
		sender.SendData(0, "first")
		sender.ExpectAck(0)
		start := time.Now()
		sender.SendData(1, "would wait 20 s")
		// The notice goes first: a seed's ACK cannot say "refused".
		if notice := sender.ReadNotice("slow down"); !strings.Contains(notice, "wait 20s") {
			t.Fatalf("notice %q does not say how long it would have waited", notice)
		}
		sender.ExpectAck(1)
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("the refused line's ACK came after %v, want at once", waited)
		}
		time.Sleep(20 * time.Second) // the refusal cost no token: one is back now
		sender.SendData(2, "after the wait")
		sender.ExpectAck(2)
		prefix := "<" + sender.Addr().String() + "> "
		for _, want := range []string{"first", "after the wait"} {
			if got := receiver.ReadChat(); got != prefix+want {
				t.Fatalf("receiver got %q, want %q", got, prefix+want)
			}
		}
	})
}

// TestWindowFloodBounded: a version 2 client with a window keeps 128
// messages in flight and floods far past the bound. Each of its messages
// is either relayed, and acknowledged as accepted, or refused, with its own
// "slow down" notice and a refused verdict: relayed and refused add up to
// what was sent, and none is lost without a word. What is relayed keeps its
// order, and the others in the room chat on meanwhile.
func TestWindowFloodBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		limit := server.RateLimit{Rate: 10, Burst: 10, MaxLag: 2 * time.Second}
		room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Layer: window.Layer{},
			Server: func(cfg *server.Config) { cfg.RateLimit = limit }})
		// Patient enough to wait out the lag: a sender that gives up on a
		// held message starts a new session, which is not what is tested.
		flooder := room.JoinWith(func(cfg *client.Config) { cfg.Nick, cfg.ReliabilityConfig.Persist = "flooder", true })
		alice, bob := room.JoinWith(nick("alice")), room.JoinWith(nick("bob"))
		alice.WaitMessage("bob's join", isSystem("bob joined"))

		const n = 200
		ids := make([]uint64, n)
		for i := range ids {
			ids[i] = flooder.Say(fmt.Sprintf("spam %03d", i))
		}
		alice.WaitDelivered(alice.Say("can anyone hear me?"))
		if failed := flooder.WaitSettled(ids...); len(failed) > 0 {
			t.Fatalf("%d messages failed: %v", len(failed), failed)
		}
		bob.WaitMessage("alice, through the flood", func(m core.Message) bool { return m.From == "alice" })
		synctest.Wait() // the notices and relays still on their way

		var delivered, refused []string
		for i, id := range ids {
			ok, why, _ := flooder.WaitVerdict(id)
			switch {
			case ok:
				delivered = append(delivered, fmt.Sprintf("spam %03d", i))
			case strings.HasPrefix(why, "slow down"):
				refused = append(refused, why)
			default:
				t.Fatalf("message %d: refused %q, want relayed or refused to slow down", i, why)
			}
		}
		var relayed []string
		for _, m := range bob.Chat() {
			if m.From == "flooder" {
				relayed = append(relayed, m.Text)
			}
		}
		notices := 0
		for _, m := range flooder.Messages() {
			if m.Kind == core.KindError && strings.HasPrefix(m.Text, "slow down") {
				notices++
			}
		}
		t.Logf("of %d: %d relayed, %d refused, %d notices", n, len(relayed), len(refused), notices)
		if strings.Join(relayed, "|") != strings.Join(delivered, "|") {
			t.Fatalf("relayed %q,\nbut acknowledged as accepted %q", relayed, delivered)
		}
		if notices != len(refused) || len(relayed)+notices != n {
			t.Fatalf("%d relayed, %d refused verdicts, %d notices; want relayed + refused = %d, a notice for each refusal",
				len(relayed), len(refused), notices, n)
		}
		if len(refused) == 0 {
			t.Fatal("nothing refused: the flood did not reach the bound")
		}
		// 10 at once, then 10 a second over the time the flood lasted,
		// and a message waits at most 2 s: far fewer than were sent.
		if len(relayed) < limit.Burst+int(limit.Rate*limit.MaxLag.Seconds()) {
			t.Fatalf("only %d relayed: messages that could wait were refused", len(relayed))
		}
	})
}

// TestLagDroppedWithSession: messages still waiting for the limit when
// their session ends go with it. They were never acknowledged, so their
// sender never took them for delivered, and they are not relayed later
// from a session that has left.
func TestLagDroppedWithSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		room := chattest.Start(t, chattest.Options{Network: memory.NewNetwork(), Server: func(cfg *server.Config) {
			cfg.RateLimit = server.RateLimit{Rate: 1, Burst: 1, MaxLag: time.Minute}
		}})
		bob := room.JoinWith(nick("bob"))
		raw := room.Raw()
		raw.HandshakeV2(chattest.Keys.Key(0), "raw")
		for seq, text := range []string{"now", "in a second", "in two"} {
			raw.SendV2Data(uint64(seq), text)
		}
		raw.ExpectAckV2(0)
		bob.WaitChat(1)
		raw.SendPacket(raw.SealPacket(&core.Packet{Type: core.TypeBye}, nil))
		bob.WaitMessage("raw's leave", isSystem("raw left"))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := texts(bob.Chat()); strings.Join(got, "|") != "now" {
			t.Fatalf("bob got %q, want only what was handed on before raw left", got)
		}
	})
}
