package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/server"
)

// Seed clients as they really behave: one gives up on a DATA after its
// retries and sends its next message with the next seq, never going back.
// The server takes that seq, and the gap, but nothing a replay can abuse.
// As in defects_test.go, absence is shown by order: after the packet that
// must have no effect, a good one is sent, and the next thing to arrive
// must be the good one's answer.

// seedRoom starts a room whose server's log is also kept in logs.
func seedRoom(t *testing.T, logs *testkit.Buffer) *chattest.Room {
	t.Helper()
	return chattest.Start(t, chattest.Options{
		Logger: slog.New(slog.NewTextHandler(io.MultiWriter(logs, testLog{t}), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// TestSeedClientMovesOnAfterGivingUp: a seed client whose DATA 1 never
// arrives (six losses in a row) gives up on it and sends its next message
// as seq 2, later two more in a row are lost (seqs 4 and 5) and it goes on
// at 6. Every message after a gap is ACKed and reaches the room, in order;
// the server logs each gap with its size. A late copy of a lost seq is taken
// for the retransmission it looks like: ACKed again, not relayed.
func TestSeedClientMovesOnAfterGivingUp(t *testing.T) {
	var logs testkit.Buffer
	room := seedRoom(t, &logs)
	sender, seedReceiver := joinRaw(t, room, 0), listenRaw(t, room, 1)
	goReceiver := room.Join()
	testkit.WaitUntil(t, "three sessions", func() bool { return room.Server.Stats().Sessions == 3 })

	sent := map[uint64]string{0: "before the outage", 2: "after giving up on 1", 3: "and on",
		6: "after giving up on 4 and 5", 7: "still here"}
	for _, seq := range []uint64{0, 2, 3, 6, 7} {
		sender.SendData(seq, sent[seq])
		sender.ExpectAck(seq)
	}
	sender.SendData(1, "late copy of the one given up on") // lost, then found
	sender.ExpectAck(1)
	sender.SendData(8, "last")
	sender.ExpectAck(8)

	want := []string{sent[0], sent[2], sent[3], sent[6], sent[7], "last"}
	prefix := "<" + sender.Addr().String() + "> "
	for _, text := range want {
		if got := seedReceiver.ReadChat(); got != prefix+text {
			t.Fatalf("seed receiver got %q, want %q", got, prefix+text)
		}
	}
	var got []string
	for _, m := range goReceiver.WaitChat(len(want)) {
		if m.From == sender.Addr().String() {
			got = append(got, m.Text)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Go client got %q, want %q", got, want)
	}
	for _, gap := range []string{"skipped=1 expected=1 seq=2", "skipped=2 expected=4 seq=6"} {
		testkit.WaitUntil(t, "the server to log the gap "+gap, func() bool {
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "level=WARN") && strings.Contains(line, gap) {
					return true
				}
			}
			return false
		})
	}
}

// TestReplayAheadRefused: the version 1 MAC does not cover seq, so a
// recorded payload can be sent again under a seq past the expected one.
// It is refused (no ACK, nothing relayed) and the expected seq does not
// move: the client's real next message, at the seq it was expected, goes
// through. A forged payload ahead does not move it either, nor does a fresh
// authentic one too far ahead.
func TestReplayAheadRefused(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	sender, receiver := joinRaw(t, room, 0), listenRaw(t, room, 1)
	first := sender.SendData(0, "pay Bob 10")
	sender.ExpectAck(0)
	second := sender.SendData(1, "pay Carol 5")
	sender.ExpectAck(1)

	forged := sender.Seal("forged")
	forged[len(forged)-1] ^= 1
	for _, p := range []*core.Packet{
		{Type: core.TypeData, Seq: 3, HasSeq: true, Payload: first},
		{Type: core.TypeData, Seq: 2 + 64, HasSeq: true, Payload: second},
		{Type: core.TypeData, Seq: 5, HasSeq: true, Payload: forged},
		{Type: core.TypeData, Seq: 2 + 65, HasSeq: true, Payload: sender.Seal("too far ahead")},
		{Type: core.TypeData, Seq: 1<<64 - 1, HasSeq: true, Payload: sender.Seal("at the end of time")},
	} {
		sender.SendPacket(p)
	}
	sender.SendData(2, "the real third")
	sender.ExpectAck(2) // the first answer: none of the above got an ACK
	sender.SendData(3, "the real fourth")
	sender.ExpectAck(3)

	prefix := "<" + sender.Addr().String() + "> "
	for _, want := range []string{"pay Bob 10", "pay Carol 5", "the real third", "the real fourth"} {
		if got := receiver.ReadChat(); got != prefix+want {
			t.Fatalf("receiver got %q, want %q: a replay or a forgery was relayed", got, prefix+want)
		}
	}
}

// TestClientPausesAfterV1Ack: our client, in a version 1 session, sends its
// next DATA no sooner than V1AckPause after the last one's ACK, so the
// server accepts its messages at least that far apart (the seed's server
// needs it: docs/PROTOCOL.md). In version 2 it never pauses: with a pause
// of an hour configured, its messages are delivered at once.
func TestClientPausesAfterV1Ack(t *testing.T) {
	const pause = 100 * time.Millisecond
	var mu sync.Mutex
	accepted := map[string][]time.Time{}
	room := chattest.Start(t, chattest.Options{Suite: seed.Suite{} /* version 1 has no other */, Server: func(cfg *server.Config) {
		cfg.Handlers = append(cfg.Handlers, func(next core.Handler) core.Handler {
			return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
				mu.Lock()
				accepted[m.From] = append(accepted[m.From], time.Now())
				mu.Unlock()
				return next.HandleMessage(ctx, m)
			})
		})
	}})
	v1 := room.JoinWith(func(cfg *client.Config) { cfg.MaxVersion, cfg.V1AckPause = 1, pause })
	v2 := room.JoinWith(func(cfg *client.Config) { cfg.V1AckPause = time.Hour })
	if v1.Info().Version != 1 || v2.Info().Version != 2 {
		t.Fatalf("versions %d and %d, want 1 and 2", v1.Info().Version, v2.Info().Version)
	}
	const n = 4
	var ids1, ids2 []uint64
	for i := range n {
		ids1 = append(ids1, v1.Say(fmt.Sprint("v1 #", i)))
		ids2 = append(ids2, v2.Say(fmt.Sprint("v2 #", i)))
	}
	v2.WaitDelivered(ids2...)
	v1.WaitDelivered(ids1...)

	mu.Lock()
	defer mu.Unlock()
	times := accepted[v1.Name()]
	if len(times) != n {
		t.Fatalf("server accepted %d messages from the version 1 client, want %d", len(times), n)
	}
	for i := 1; i < n; i++ {
		if gap := times[i].Sub(times[i-1]); gap < pause {
			t.Errorf("message %d accepted %v after the one before, want at least the pause, %v", i, gap, pause)
		}
	}
}
