package server_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/modern"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/reliability/window"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/fault"
)

// recorder is a handler that remembers, in order, every message the server
// accepted from each sender.
type recorder struct {
	mu  sync.Mutex
	got map[string][]string
}

func (r *recorder) texts(from string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got[from])
}

func (r *recorder) middleware(next core.Handler) core.Handler {
	return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
		r.mu.Lock()
		if r.got == nil {
			r.got = map[string][]string{}
		}
		r.got[m.From] = append(r.got[m.From], m.Text)
		r.mu.Unlock()
		return next.HandleMessage(ctx, m)
	})
}

// TestLossyNetwork: in protocol version 1, with 30% loss, 5% duplication and
// reordering both ways, every message reaches the server exactly once and in
// order, or its sender is told it failed; nothing is delivered twice,
// anywhere (server-to-client delivery is best effort in version 1).
func TestLossyNetwork(t *testing.T) {
	faults := fault.Faults{Loss: 0.30, Duplicate: 0.05, Reorder: 0.05}
	var rec recorder
	room := chattest.Start(t, chattest.Options{
		Faults:      &fault.Config{Seed: 42, Send: faults, Receive: faults},
		Reliability: core.ReliabilityConfig{RTO: 60 * time.Millisecond, MaxRetries: 5},
		Server: func(cfg *server.Config) {
			noRateLimit(cfg)
			cfg.Handlers = append(cfg.Handlers, rec.middleware)
		},
		Suite:  seed.Suite{}, // version 1 has no other
		Client: func(cfg *client.Config) { cfg.MaxVersion = 1 },
	})
	const perClient = 30
	clients := []*chattest.Client{room.Join(), room.Join(), room.Join()}
	sent := make([][]string, len(clients))
	failed := make([]map[uint64]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		var ids []uint64
		for j := range perClient {
			text := fmt.Sprintf("%s #%d", c.Name(), j)
			sent[i] = append(sent[i], text)
			ids = append(ids, c.Say(text))
		}
		wg.Go(func() { failed[i] = c.WaitSettled(ids...) })
	}
	wg.Wait()

	totalFailed, turned := 0, 0
	for i, c := range clients {
		got := rec.texts(c.Name())
		// What the server accepted is what the client sent, in order, less
		// some of what the client was told failed (a failure can also be a
		// delivery whose every ACK was lost).
		if !isSubsequence(got, sent[i]) {
			t.Errorf("client %d: server accepted %q\nout of order or duplicated; sent %q", i, got, sent[i])
		}
		for j, text := range sent[i] {
			if failed[i][uint64(j+1)] == nil && !slices.Contains(got, text) {
				t.Errorf("client %d: %q was acknowledged but never accepted", i, text)
			}
		}
		if len(got) < len(sent[i])-len(failed[i]) {
			t.Errorf("client %d: %d accepted, %d sent, %d failed", i, len(got), len(sent[i]), len(failed[i]))
		}
		totalFailed += len(failed[i])
		// Version 1 broadcasts are best effort, never duplicated, and
		// reordered only by the network: they carry no seq to put them
		// back in order, and a seed client is sent what the room said
		// before its first DATA (or, after giving up, its new session's)
		// in a burst, which the injector may turn around.
		var fromOthers = map[string][]string{}
		for _, m := range c.Chat() {
			fromOthers[m.From] = append(fromOthers[m.From], m.Text)
		}
		for from, texts := range fromOthers {
			n, ok := inversions(texts, rec.texts(from))
			if !ok {
				t.Errorf("client %d received from %s %q: duplicated, or not accepted, in %q", i, from, texts, rec.texts(from))
			}
			turned += n
		}
	}
	st := room.Faults.Stats()
	if turned > int(st.Send.Reordered) {
		t.Errorf("%d messages came before one sent earlier, but the injector reordered only %d datagrams", turned, st.Send.Reordered)
	}
	t.Logf("server transport faults: %+v; messages failed: %d of %d", st, totalFailed, len(clients)*perClient)
	if st.Receive.Dropped == 0 || st.Send.Dropped == 0 || st.Receive.Duplicated == 0 {
		t.Fatal("the fault injector injected nothing: the test tested nothing")
	}
}

// inversions counts the items of sub that come right after one later in
// seq, and reports whether each item of sub is in seq, once.
func inversions(sub, seq []string) (int, bool) {
	at := make(map[string]int, len(seq))
	for i, s := range seq {
		at[s] = i
	}
	seen := make(map[string]bool, len(sub))
	n := 0
	for i, s := range sub {
		j, ok := at[s]
		if !ok || seen[s] {
			return n, false
		}
		seen[s] = true
		if i > 0 && j < at[sub[i-1]] {
			n++
		}
	}
	return n, true
}

// isSubsequence reports whether sub is got by deleting items of seq.
func isSubsequence(sub, seq []string) bool {
	i := 0
	for _, s := range seq {
		if i < len(sub) && sub[i] == s {
			i++
		}
	}
	return i == len(sub)
}

// TestLossyV2: with 30% loss, duplication and reordering both ways, a
// conversation of 3 version 2 clients x 50 messages arrives complete,
// exactly once and in order, at every client, since version 2 delivers
// reliably both ways; and presence stays right as they leave.
func TestLossyV2(t *testing.T) {
	for _, codec := range codecs {
		for _, layer := range layers {
			t.Run(codec.Name()+"/"+layer.Name(), func(t *testing.T) { testLossyV2(t, seed.Suite{}, codec, layer) })
		}
	}
	t.Run(modern.Name, func(t *testing.T) { testLossyV2(t, modern.Suite{}, protobuf.Codec{}, window.Layer{}) })
}

func testLossyV2(t *testing.T, suite core.Suite, codec core.Codec, layer core.Reliability) {
	faults := fault.Faults{Loss: 0.30, Duplicate: 0.05, Reorder: 0.05}
	room := chattest.Start(t, chattest.Options{
		Layer:  layer,
		Codecs: []core.Codec{codec},
		Suite:  suite,
		Faults: &fault.Config{Seed: 7, Send: faults, Receive: faults},
		// A network this bad calls for more patience than the seed's 5 retries.
		Reliability: core.ReliabilityConfig{RTO: 50 * time.Millisecond, MaxRetries: 20},
		Server: func(cfg *server.Config) {
			noRateLimit(cfg)
			cfg.IdleTimeout = 6 * time.Second
		},
		// A client gives up on a server silent for three keepalives: at
		// 30% loss each way, 1.5 s of silence happens; 3 s does not.
		Client: func(cfg *client.Config) { cfg.Keepalive = time.Second },
	})
	const perClient = 50
	clients := []*chattest.Client{room.JoinWith(nick("ann")), room.JoinWith(nick("ben")), room.JoinWith(nick("cat"))}
	sent := map[string][]string{}
	var wg sync.WaitGroup
	for _, c := range clients {
		var ids []uint64
		for j := range perClient {
			text := fmt.Sprintf("%s #%d", c.Name(), j)
			sent[c.Name()] = append(sent[c.Name()], text)
			ids = append(ids, c.Say(text))
		}
		wg.Go(func() { c.WaitDelivered(ids...) })
	}
	wg.Wait()
	for _, c := range clients {
		got := map[string][]string{}
		for _, m := range c.WaitChat(2 * perClient) {
			got[m.From] = append(got[m.From], m.Text)
		}
		for _, other := range clients {
			if other != c && !slices.Equal(got[other.Name()], sent[other.Name()]) {
				t.Errorf("%s received from %s:\n%q\nwant\n%q", c.Name(), other.Name(), got[other.Name()], sent[other.Name()])
			}
		}
		if extra := len(c.Chat()) - 2*perClient; extra != 0 {
			t.Errorf("%s received %d messages more than were sent", c.Name(), extra)
		}
	}
	if n := room.Server.Stats().Bundled; layer.Name() == stopwait.Name && n == 0 {
		// 100 messages for each stop-and-wait recipient at once: what
		// waits behind the DATA in flight must go in bundles.
		t.Fatal("no DATA carried a bundle")
	}
	clients[2].Stop()
	clients[1].Stop()
	// Each says BYE; if every try is lost, the idle timeout ends the session.
	for _, who := range []string{"cat", "ben"} {
		clients[0].WaitMessage(who+" gone", func(m core.Message) bool {
			return m.Kind == core.KindSystem && (m.Text == who+" left" || m.Text == who+" timed out")
		})
	}
	if n := room.Server.Stats().Sessions; n != 1 {
		t.Fatalf("%d sessions after two of three left, want 1", n)
	}
	st := room.Faults.Stats()
	t.Logf("server transport faults: %+v", st)
	if st.Receive.Dropped == 0 || st.Send.Dropped == 0 || st.Send.Duplicated == 0 || st.Send.Reordered == 0 {
		t.Fatal("the fault injector injected too little: the test tested nothing")
	}
}
