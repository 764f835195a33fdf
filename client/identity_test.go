package client_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/netip"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/client"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
)

// stripKey takes the client key out of every KEY_REQ the client sends, as
// a server from before client keys ignores it (or an on-path attacker
// strips it): the server then signs the handshake without it.
type stripKey struct{ core.Transport }

func (s stripKey) WriteTo(p []byte, to netip.AddrPort) (int, error) {
	var c jsoncodec.Codec
	pkt, err := c.Decode(p)
	if err != nil || pkt.Type != core.TypeKeyReq || len(pkt.ClientKey) == 0 {
		return s.Transport.WriteTo(p, to)
	}
	pkt.ClientKey, pkt.ClientSig = nil, nil
	b, err := c.Append(nil, pkt)
	if err != nil {
		return 0, err
	}
	if _, err := s.Transport.WriteTo(b, to); err != nil {
		return 0, err
	}
	return len(p), nil
}

// TestClientKey: a client with a key has it signed into the handshake by
// the server (SessionInfo.ClientKey); one whose key the server never saw
// connects anyway, as an anonymous session, rather than being refused.
func TestClientKey(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	room := chattest.Start(t, chattest.Options{Codecs: []core.Codec{jsoncodec.Codec{}}})
	for _, tt := range []struct {
		name  string
		strip bool
		want  ed25519.PublicKey
	}{
		{"seen", false, key.Public().(ed25519.PublicKey)},
		{"ignored", true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := room.JoinWith(func(cfg *client.Config) {
				cfg.Identity = key
				if tt.strip {
					cfg.Transport = stripKey{cfg.Transport}
				}
			})
			if got := c.Info().ClientKey; !got.Equal(tt.want) {
				t.Errorf("SessionInfo.ClientKey = %x, want %x", got, tt.want)
			}
			c.WaitDelivered(c.Say("hello"))
			c.Stop()
		})
	}
}
