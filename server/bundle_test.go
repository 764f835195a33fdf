package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/server"
)

// TestBundledBurst: what comes for a stop-and-wait recipient while its DATA
// is in flight goes out, when that DATA is acknowledged, bundled: complete,
// in order, in as few DATA as fit in a datagram each; and a message that finds the recipient idle goes at once, alone, as
// before bundling.
func TestBundledBurst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		burst int
		text  int // bytes of each message's text
		// bundles is how many DATA the burst after its first message takes.
		bundles int
	}{
		{"burst", 10, 2, 1},
		// A message of 1,000 bytes is about 1,060 in JSON: two fit in
		// a DATA's plaintext (2,941 bytes with the seed suite), three not.
		{"size", 21, 1000, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			room := chattest.Start(t, chattest.Options{Layer: stopwait.Layer{}, Server: func(cfg *server.Config) {
				noRateLimit(cfg)
				cfg.RecipientQueue = 4 * tc.burst // no back-pressure
			}})
			testBundledBurst(t, room, tc.burst, tc.text, tc.bundles)
		})
	}
}

// joinRawV2 joins a raw version 2 client, "raw", to room, where alice sees
// it join.
func joinRawV2(room *chattest.Room, alice *chattest.Client) *chattest.RawClient {
	raw := room.Raw()
	raw.HandshakeV2(chattest.Keys.Key(3), "raw")
	raw.SendPacket(raw.SealPacket(&core.Packet{Type: core.TypePing, Seq: 1, HasSeq: true}, nil)) // proves the keys: joins
	alice.WaitMessage("raw joins", func(m core.Message) bool { return m.Text == "raw joined" })
	return raw
}

func testBundledBurst(t *testing.T, room *chattest.Room, burst, size, bundles int) {
	alice := room.Join()
	raw := joinRawV2(room, alice)

	var mc jsoncodec.Codec
	read := func(ack bool) (uint64, []core.Message) {
		t.Helper()
		p, plain := raw.OpenV2(core.TypeData)
		if ack {
			raw.AckV2(p.Seq)
		}
		ptrs, err := mc.DecodeMessages(nil, plain)
		if err != nil {
			t.Fatalf("DATA seq %d: %v", p.Seq, err)
		}
		var ms []core.Message
		for _, m := range ptrs {
			ms = append(ms, *m)
		}
		return p.Seq, ms
	}
	// Whatever the server sends a newcomer comes first; "ready" marks its end.
	alice.WaitDelivered(alice.Say("ready"))
	for {
		if _, ms := read(true); ms[len(ms)-1].Text == "ready" {
			break
		}
	}

	text := func(i int) string {
		s := fmt.Sprintf("m%d ", i)
		return s + strings.Repeat("x", max(size-len(s), 0))
	}
	before := room.Server.Stats().Bundled // the newcomer's own, the session message with what came with it
	var ids []uint64
	for i := range burst {
		ids = append(ids, alice.Say(text(i)))
	}
	alice.WaitDelivered(ids...) // all of them have reached the server
	seq, first := read(false)
	if len(first) != 1 || first[0].Text != text(0) {
		t.Fatalf("first DATA of the burst holds %d messages, want m0 alone: the recipient was idle", len(first))
	}
	raw.AckV2(seq)
	var got []core.Message
	for n := 1; len(got) < burst-1; n++ {
		next, ms := read(true)
		if next != seq+uint64(n) {
			t.Fatalf("DATA seq %d after %d", next, seq+uint64(n-1))
		}
		if n > bundles {
			t.Fatalf("%d messages of %d after %d DATA, want all of them in %d", len(got), burst-1, n-1, bundles)
		}
		got = append(got, ms...)
	}
	for i, m := range got {
		if m.Text != text(i+1) || m.Kind != core.KindChat || m.From != alice.Name() || m.ID == 0 || m.Time.IsZero() {
			t.Fatalf("message %d of the bundles is %.20q from %q (id %d, kind %v), want alice's chat %.20q with an id and a time",
				i, m.Text, m.From, m.ID, m.Kind, text(i+1))
		}
	}
	if n := room.Server.Stats().Bundled - before; n != uint64(bundles) {
		t.Fatalf("Stats().Bundled = %d, want %d", n, bundles)
	}
	// Caught up, the next message goes alone again.
	alice.WaitDelivered(alice.Say("after"))
	if _, ms := read(true); len(ms) != 1 || ms[0].Text != "after" {
		t.Fatalf("after the bundles: %d messages, want [after] alone", len(ms))
	}
}
