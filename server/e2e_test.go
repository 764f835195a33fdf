package server_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/modern"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/reliability/window"
	"github.com/udpchat/udpchat/server"
)

// TestEndToEnd: one server, three clients over real UDP on loopback. Every
// client's messages reach every other client exactly once, in order, as
// "<sender> text", and every sender gets its ACKs.
func TestEndToEnd(t *testing.T) {
	for _, version := range []uint8{1, 2} {
		for _, suite := range suites {
			for _, codec := range codecs {
				for _, layer := range layers {
					if version == 1 && (layer.Name() != stopwait.Name || suite.Name() != seed.Name) {
						continue // version 1 is the seed's suite, stop-and-wait
					}
					name := fmt.Sprintf("v%d/%s/%s/%s", version, suite.Name(), codec.Name(), layer.Name())
					t.Run(name, func(t *testing.T) { testEndToEnd(t, version, suite, codec, layer) })
				}
			}
		}
	}
}

// The layers and codecs the end-to-end tests run over, in every combination.
var (
	layers = []core.Reliability{stopwait.Layer{}, window.Layer{}}
	codecs = []core.Codec{jsoncodec.Codec{}, protobuf.Codec{}}
	suites = []core.Suite{seed.Suite{}, modern.Suite{}}
)

func testEndToEnd(t *testing.T, version uint8, suite core.Suite, codec core.Codec, layer core.Reliability) {
	room := chattest.Start(t, chattest.Options{Layer: layer, Codecs: []core.Codec{codec}, Suite: suite})
	join := func() *chattest.Client {
		c := room.JoinWith(func(cfg *client.Config) { cfg.MaxVersion = version })
		if c.Info().Version != version || c.Info().Suite != suite.Name() {
			t.Fatalf("client speaks version %d with %s, want %d with %s", c.Info().Version, c.Info().Suite, version, suite.Name())
		}
		return c
	}
	clients := []*chattest.Client{join(), join(), join()}
	texts := []string{"hello, world", "héllo 世界 🌍", "", strings.Repeat("x", 2500), "last"}

	for _, c := range clients {
		var ids []uint64
		for _, text := range texts {
			ids = append(ids, c.Say(c.Name()+": "+text))
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
				want = append(want, fmt.Sprintf("<%s> %s: %s", other.Name(), other.Name(), text))
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
		want = append(want, "<"+sender.Name()+"> "+text)
	}
	sender.WaitDelivered(ids...)
	got := v1Lines(receiver.WaitChat(100))
	if !equalLines(got, want) {
		t.Fatalf("received %d messages, not the 100 sent, in order:\n%s", len(got), strings.Join(got, "\n"))
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
func noRateLimit(cfg *server.Config) { cfg.RateLimit = server.RateLimit{} }

// TestMixedCodecsAndLayers: one server speaking JSON and protobuf at once, with
// clients on either codec and either reliability layer, and a seed client:
// everyone hears everyone, each in its own codec.
func TestMixedCodecsAndLayers(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Codecs: codecs, Server: noRateLimit})
	type kind struct {
		nick  string
		codec core.Codec
		layer core.Reliability
	}
	var clients []*chattest.Client
	for _, k := range []kind{
		{"json-sw", jsoncodec.Codec{}, stopwait.Layer{}},
		{"json-win", jsoncodec.Codec{}, window.Layer{}},
		{"pb-sw", protobuf.Codec{}, stopwait.Layer{}},
		{"pb-win", protobuf.Codec{}, window.Layer{}},
	} {
		clients = append(clients, room.JoinWith(func(cfg *client.Config) {
			cfg.Nick, cfg.Codec, cfg.Reliability = k.nick, k.codec, k.layer
		}))
	}
	seedc := joinRaw(t, room, 0)
	for _, c := range clients {
		c.WaitDelivered(c.Say("hello from " + c.Name()))
	}
	// Nothing of the room goes to a seed client before its first DATA
	// proves its address; then what was said since it joined, as said,
	// before its ACK.
	seedc.SendData(0, "hello from the seed")
	heard := map[string]bool{}
	for range clients {
		heard[seedc.ReadChat()] = true
	}
	seedc.ExpectAck(0)
	for _, c := range clients {
		if !heard["<"+c.Name()+"> hello from "+c.Name()] {
			t.Errorf("the seed client did not hear %s: %v", c.Name(), heard)
		}
	}
	for _, c := range clients {
		got := map[string]bool{}
		for _, m := range c.WaitChat(len(clients)) {
			got[m.Text] = true
		}
		for _, other := range clients {
			if other != c && !got["hello from "+other.Name()] {
				t.Errorf("%s did not hear %s: %v", c.Name(), other.Name(), got)
			}
		}
		if !got["hello from the seed"] {
			t.Errorf("%s did not hear the seed client", c.Name())
		}
	}
}
