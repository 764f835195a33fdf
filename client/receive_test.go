package client_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/window"
	"github.com/udpchat/udpchat/transport/memory"
)

// TestAckOutOfOrder: a DATA that arrives ahead of a gap is acknowledged at
// once, twice (core.AckCopies), its ACK's cumulative part below it; one that
// arrives in order, filling the gap, once, with a cumulative part past
// both.
func TestAckOutOfOrder(t *testing.T) {
	network := memory.NewNetwork()
	s := newFakeServer(t, network)
	c := dialFake(t, network, s, func(cfg *client.Config) { cfg.Reliability = window.Layer{} })
	s.accept(0x1111, "alice")
	c.connected()
	data := func(seq uint64, text string) {
		t.Helper()
		m := core.Message{Kind: core.KindSystem, From: core.SystemSender, Text: text}
		plain, err := s.codec.AppendMessage(nil, &m)
		if err != nil {
			t.Fatal(err)
		}
		s.seal(&core.Packet{Type: core.TypeData, Seq: seq, HasSeq: true}, plain)
	}
	// acks returns the ACKs the client sends within a while, as
	// "ack_seq/cum".
	acks := func() []string {
		t.Helper()
		var got []string
		quiet := time.After(300 * time.Millisecond)
		for {
			select {
			case a := <-s.in:
				if a.p.Type == core.TypeAck {
					got = append(got, fmt.Sprintf("%d/%d", a.p.AckSeq, a.p.Cum))
				}
			case <-quiet:
				return got
			}
		}
	}
	data(1, "second")
	if got := fmt.Sprint(acks()); got != "[1/0 1/0]" {
		t.Fatalf("ahead of a gap, the client sent ACKs %s, want [1/0 1/0]", got)
	}
	data(0, "first")
	if got := fmt.Sprint(acks()); got != "[0/2]" {
		t.Fatalf("filling the gap, the client sent ACKs %s, want [0/2]", got)
	}
	if _, shown := c.until("second", func(e client.Event) bool {
		m, ok := e.(client.MessageEvent)
		return ok && m.Message.Text == "second"
	}); len(shown) == 0 || shown[len(shown)-1].Message.Text != "first" {
		t.Fatalf("shown %v before second, want first last", shown)
	}
}
