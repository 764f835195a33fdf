package core_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/cipher/seed"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/core/chattest"
	"github.com/udpchat/udpchat/core/stopwait"
	"github.com/udpchat/udpchat/transport/memory"
)

// hostileDatagrams are what an attacker, or a broken peer, may send.
func hostileDatagrams() map[string][]byte {
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"not JSON":          []byte("hello there"),
		"truncated JSON":    []byte(`{"type": "DATA", "seq": 0, "payl`),
		"seq a string":      []byte(`{"type": "DATA", "seq": "0", "payload": "AAAA"}`),
		"type a number":     []byte(`{"type": 3, "payload": "AAAA"}`),
		"payload an object": []byte(`{"type": "KEY_REQ", "payload": {}}`),
		"invalid base64":    []byte(`{"type": "KEY_REQ", "payload": "%%%not base64%%%"}`),
		"huge base64":       []byte(`{"type": "KEY_REQ", "payload": "` + strings.Repeat("QUFB", 1010) + `"}`),
		"oversize":          []byte(`{"type": "KEY_REQ", "payload": "` + strings.Repeat("QUFB", 1100) + `"}`),
		"invalid PEM":       []byte(`{"type": "KEY_REQ", "payload": "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KZ2FyYmFnZQotLS0tLUVORCBQVUJMSUMgS0VZLS0tLS0="}`),
		"random bytes":      random,
		"empty object":      []byte(`{}`),
		"empty":             {},
		"DATA, no session":  []byte(`{"type": "DATA", "seq": 0, "payload": "AAAA"}`),
		"ACK to the server": []byte(`{"type": "ACK", "ack_seq": 0}`),
		"KEY_REP to server": []byte(`{"type": "KEY_REP", "payload": "AAAA"}`),
	}
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestHostileDatagrams: garbage of every kind is dropped and logged, the
// server answers none of it, and then still serves new clients.
func TestHostileDatagrams(t *testing.T) {
	var logs logBuffer
	room := chattest.Start(t, chattest.Options{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	attacker := room.Raw()
	hostile := hostileDatagrams()
	for _, b := range hostile {
		attacker.Send(b)
	}
	// The attacker's next good KEY_REQ gets the first answer it sees: none of
	// the garbage was answered.
	attacker.Handshake(chattest.Keys.Key(0))

	if st := room.Server.Stats(); st.Dropped != uint64(len(hostile)) {
		t.Errorf("server dropped %d datagrams, want %d", st.Dropped, len(hostile))
	}
	if n := strings.Count(logs.String(), "dropped datagram"); n != len(hostile) {
		t.Errorf("%d drops logged, want %d:\n%s", n, len(hostile), logs.String())
	}
	a, b := room.Join(), room.Join()
	a.WaitDelivered(a.Say("still here"))
	if got := b.WaitChat(1)[0].Text; got != "still here" {
		t.Fatalf("got %q after the garbage", got)
	}
}

// newFuzzServer returns a server on an in-memory network with one session
// established, so fuzzed DATA reaches the session code, not just the decoder.
func newFuzzServer(tb testing.TB) (*core.Server, netip.AddrPort) {
	net := memory.NewNetwork()
	tr, err := net.Listen(chattest.Loopback)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tr.Close() })
	srv, err := core.NewServer(core.ServerConfig{
		Transport: tr, Codec: jsoncodec.Codec{}, Suite: seed.Suite{}, Reliability: stopwait.Layer{},
	})
	if err != nil {
		tb.Fatal(err)
	}
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	in, err := seed.NewInitiatorFromKey(chattest.Keys.Key(0))
	if err != nil {
		tb.Fatal(err)
	}
	hello, _ := jsoncodec.Codec{}.Append(nil, &core.Packet{Type: core.TypeKeyReq, Payload: in.Hello()})
	srv.HandleDatagram(context.Background(), hello, from)
	if srv.Stats().Sessions != 1 {
		tb.Fatal("fuzz server: no session")
	}
	return srv, from
}

// FuzzServerDatagram feeds the server's packet entry point arbitrary bytes
// from an address that has a session. Nothing may panic, and the server must
// never hold more than that one session plus one a fuzzed KEY_REQ may make.
func FuzzServerDatagram(f *testing.F) {
	for _, b := range hostileDatagrams() {
		f.Add(b)
	}
	f.Add([]byte(`{"type": "DATA", "seq": 0, "payload": "L66j9VA89MjFjlhZ7GT9VPMoOQRLQiDWTls4hO0ODKE8JHzM3lk4dmvdHu+gpSWqv2vAIj20SiHhIa4FSwmXPA=="}`))
	f.Add([]byte(`{"type": "DATA", "seq": 18446744073709551615, "payload": ""}`))
	srv, from := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		srv.HandleDatagram(context.Background(), b, from)
		if n := srv.Stats().Sessions; n > 1 {
			t.Fatalf("%d sessions from one address", n)
		}
	})
}

// TestIdleEviction: a session that says nothing for the idle timeout ends,
// and the server stops sending to it; the seed broadcast to every address
// that ever joined, forever.
func TestIdleEviction(t *testing.T) {
	room := chattest.Start(t, chattest.Options{Server: func(cfg *core.ServerConfig) {
		cfg.V1IdleTimeout = 300 * time.Millisecond
	}})
	quiet := joinRaw(t, room, 0)
	deadline := time.Now().Add(chattest.Timeout)
	for room.Server.Stats().Sessions != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle session was never evicted")
		}
		time.Sleep(10 * time.Millisecond) // polling a counter, with a deadline
	}
	talker := joinRaw(t, room, 1)
	talker.SendData(0, "anyone?")
	talker.ExpectAck(0)
	if st := room.Server.Stats(); st.Relayed != 0 {
		t.Fatalf("relayed %d datagrams to an evicted session", st.Relayed)
	}
	_ = quiet
}
