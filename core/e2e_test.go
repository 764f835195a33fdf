package core_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/core/chattest"
	"github.com/udpchat/udpchat/core/stopwait"
	"github.com/udpchat/udpchat/core/window"
)

// TestEndToEnd: one server, three clients over real UDP on loopback. Every
// client's messages reach every other client exactly once, in order, as
// "<sender> text", and every sender gets its ACKs.
func TestEndToEnd(t *testing.T) {
	for _, version := range []uint8{1, 2} {
		for _, layer := range layers {
			if version == 1 && layer.Name() != stopwait.Name {
				continue // version 1 is always stop-and-wait
			}
			t.Run(fmt.Sprintf("v%d/%s", version, layer.Name()), func(t *testing.T) { testEndToEnd(t, version, layer) })
		}
	}
}

// layers are the reliability layers the end-to-end tests run over.
var layers = []core.Reliability{stopwait.Layer{}, window.Layer{}}

func testEndToEnd(t *testing.T, version uint8, layer core.Reliability) {
	room := chattest.Start(t, chattest.Options{Layer: layer})
	join := func() *chattest.Client {
		c := room.JoinWith(func(cfg *core.ClientConfig) { cfg.MaxVersion = version })
		if c.Info.Version != version {
			t.Fatalf("client speaks version %d, want %d", c.Info.Version, version)
		}
		return c
	}
	clients := []*chattest.Client{join(), join(), join()}
	texts := []string{"hello, world", "héllo 世界 🌍", "", strings.Repeat("x", 2500), "last"}

	for _, c := range clients {
		var ids []uint64
		for _, text := range texts {
			ids = append(ids, c.Say(c.Name+": "+text))
		}
		c.WaitDelivered(ids...)
	}
	for i, c := range clients {
		var want []string
		for j, other := range clients {
			if i == j {
				continue
			}
			for _, text := range texts {
				want = append(want, fmt.Sprintf("<%s> %s: %s", other.Name, other.Name, text))
			}
		}
		got := v1Lines(c.WaitChat(len(want)))
		if !equalLines(got, want) {
			t.Errorf("client %d received\n%s\nwant\n%s", i, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if st := room.Server.Stats(); st.Accepted != uint64(len(clients)*len(texts)) || st.Sessions != len(clients) {
		t.Errorf("server stats %+v: want %d accepted in %d sessions", st, len(clients)*len(texts), len(clients))
	}
}

// TestBackToBack: the seed relayed only 1 to 4 of 100 messages sent the
// moment each ACK arrived, because its ACK raced the advance of the expected
// seq. Here all 100 are relayed, in order.
func TestBackToBack(t *testing.T) {
	for _, layer := range layers {
		t.Run(layer.Name(), func(t *testing.T) { testBackToBack(t, layer) })
	}
}

func testBackToBack(t *testing.T, layer core.Reliability) {
	room := chattest.Start(t, chattest.Options{Server: noRateLimit, Layer: layer})
	sender, receiver := room.Join(), room.Join()
	var ids []uint64
	var want []string
	for i := range 100 {
		text := fmt.Sprintf("message %d", i)
		ids = append(ids, sender.Say(text))
		want = append(want, "<"+sender.Name+"> "+text)
	}
	sender.WaitDelivered(ids...)
	got := v1Lines(receiver.WaitChat(100))
	if !equalLines(got, want) {
		t.Fatalf("received %d messages, not the 100 sent, in order:\n%s", len(got), strings.Join(got, "\n"))
	}
}

// TestClientRefusesTooLong: the client refuses, at once and with a clear
// error, a text whose broadcast could not fit in a datagram.
func TestClientRefusesTooLong(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	c, other := room.Join(), room.Join()
	longest := 0
	for c.CheckText(strings.Repeat("y", longest+1)) == nil {
		longest++
	}
	if longest < 2500 {
		t.Fatalf("only %d bytes of text fit", longest)
	}
	_, err := c.Send(t.Context(), strings.Repeat("x", longest+1))
	if !errors.Is(err, core.ErrTooLong) || !strings.Contains(err.Error(), "message too long") {
		t.Fatalf("Send of %d bytes: %v, want message too long", longest+1, err)
	}
	c.WaitDelivered(c.Say(strings.Repeat("y", longest)))
	if got := other.WaitChat(1)[0].Text; len(got) != longest {
		t.Fatalf("the longest text arrived as %d bytes, want %d", len(got), longest)
	}
}

func v1Lines(ms []core.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.V1Text())
	}
	return out
}

func equalLines(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

func mustB64(b []byte) []byte {
	out := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(out, b)
	return out
}

// noRateLimit lets a test send as fast as it likes.
func noRateLimit(cfg *core.ServerConfig) { cfg.Rate = -1 }
