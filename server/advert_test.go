package server_test

import (
	"fmt"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/window"
	"github.com/udpchat/udpchat/server"
)

// TestAdvertisedWindow: a client whose ACKs advertise a window of 2 has at
// most 2 of the server's DATA in flight to it, however much waits for it:
// the server sends the first of them again on its timeout before it sends
// a third. Once the client advertises more, the rest comes, every message
// once and in order.
func TestAdvertisedWindow(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Layer: window.Layer{}, Server: func(cfg *server.Config) {
		noRateLimit(cfg)
		cfg.RecipientQueue = 100
	}})
	alice := room.Join()
	raw := joinRawV2(room, alice)

	var mc jsoncodec.Codec
	read := func() (uint64, []*core.Message) {
		t.Helper()
		p, plain := raw.OpenV2(core.TypeData)
		ms, err := mc.DecodeMessages(nil, plain)
		if err != nil {
			t.Fatalf("DATA seq %d: %v", p.Seq, err)
		}
		return p.Seq, ms
	}
	// Whatever the server sends a newcomer comes first; "ready" marks its
	// end. Each is acknowledged with a window of 2.
	alice.WaitDelivered(alice.Say("ready"))
	var cum uint64
	for done := false; !done; {
		seq, ms := read()
		if seq == cum {
			cum++
		}
		raw.AckV2Window(seq, cum, 2)
		done = ms[len(ms)-1].Text == "ready"
	}

	const n = 20
	var ids []uint64
	for i := range n {
		ids = append(ids, alice.Say(fmt.Sprintf("m%d", i)))
	}
	alice.WaitDelivered(ids...) // all of them wait on the server for raw
	var got []string
	held := map[uint64][]*core.Message{}
	for {
		seq, ms := read()
		if _, ok := held[seq]; ok {
			break // sent again: the server waited for an ACK, not for a window
		}
		if seq != cum+uint64(len(held)) {
			t.Fatalf("DATA seq %d with %d in flight from %d", seq, len(held), cum)
		}
		if len(held) == 2 {
			t.Fatalf("a third DATA in flight (seq %d) with a window of 2 advertised", seq)
		}
		held[seq] = ms
	}
	// Now the window opens: what was held is acknowledged, the rest comes.
	for ; held[cum] != nil; cum++ {
		for _, m := range held[cum] {
			got = append(got, m.Text)
		}
	}
	raw.AckV2Window(cum-1, cum, 128)
	for len(got) < n {
		seq, ms := read()
		if seq < cum {
			continue // a copy sent before the ACK arrived
		}
		if seq != cum {
			t.Fatalf("DATA seq %d, want %d", seq, cum)
		}
		cum++
		raw.AckV2Window(seq, cum, 128)
		for _, m := range ms {
			got = append(got, m.Text)
		}
	}
	for i, text := range got {
		if want := fmt.Sprintf("m%d", i); text != want {
			t.Fatalf("message %d is %q, want %q: each once, in order (%q)", i, text, want, got)
		}
	}
}
