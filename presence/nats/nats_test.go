package nats_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	natsio "github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	presence "github.com/udpchat/udpchat/presence/nats"
)

// Every test ends with no goroutine left: the presences' refreshers, the
// NATS connections and the embedded NATS servers all stop.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startNATS starts an embedded NATS server with JetStream in a temporary
// directory, listening on no port, and shuts it down when the test ends.
func startNATS(t *testing.T) *natsserver.Server {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "test", JetStream: true, StoreDir: t.TempDir(),
		DontListen: true, NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	if !ns.ReadyForConnections(testkit.Timeout) {
		t.Fatal("embedded NATS not ready")
	}
	return ns
}

// connect opens a connection to ns in the process, closed when the test
// ends (before ns shuts down).
func connect(t *testing.T, ns *natsserver.Server) *natsio.Conn {
	t.Helper()
	nc, err := natsio.Connect("", natsio.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// open opens a node's presence on its own connection to ns.
func open(t *testing.T, ns *natsserver.Server, node string, ttl time.Duration, deliver core.DeliverFunc) core.Presence {
	t.Helper()
	d, err := presence.New(connect(t, ns), nil, slog.New(slog.DiscardHandler), presence.WithNode(node), presence.WithTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	if deliver == nil {
		deliver = func(context.Context, uint64, *core.Message) error { return nil }
	}
	p, err := d.Open(context.Background(), deliver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func names(us []core.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out
}

// TestClaims: a nickname is one session's across nodes, whatever its
// case; the session it holds may claim it again, one that resumed that
// session takes it over, and a release by a session that no longer holds
// it leaves it to its holder.
func TestClaims(t *testing.T) {
	ns := startNATS(t)
	ctx := context.Background()
	a := open(t, ns, "a", time.Minute, nil)
	b := open(t, ns, "b", time.Minute, nil)

	if _, err := a.Claim(ctx, "Alice", 1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Claim(ctx, "alice", 2, 0); !errors.Is(err, core.ErrNickTaken) {
		t.Fatalf("node b claims alice, held on a: %v, want ErrNickTaken", err)
	}
	if _, err := a.Claim(ctx, "alice", 3, 0); !errors.Is(err, core.ErrNickTaken) {
		t.Fatalf("another session of node a claims alice: %v, want ErrNickTaken", err)
	}
	if carried, err := a.Claim(ctx, "ALICE", 1, 0); err != nil || carried {
		t.Fatalf("alice's session claims its name again: carried %v, %v", carried, err)
	}
	// Session 1's client resumes on node b, as session 4.
	if carried, err := b.Claim(ctx, "alice", 4, 1); err != nil || !carried {
		t.Fatalf("a resumed session takes over its claim: carried %v, %v; want carried", carried, err)
	}
	if takenOver, err := a.Release(ctx, "alice", 1); err != nil || !takenOver {
		t.Fatalf("the old session's release, of a name taken over: taken over %v, %v; want it said", takenOver, err)
	}
	if _, err := a.Claim(ctx, "alice", 5, 0); !errors.Is(err, core.ErrNickTaken) {
		t.Fatalf("the old session's release freed alice, which session 4 holds: %v", err)
	}
	if _, err := b.Claim(ctx, "127.0.0.1:4000", 6, 0); err != nil {
		t.Fatalf("a seed client's ip:port name: %v", err)
	}
	users, total, err := a.Users(ctx, 10)
	if err != nil || total != 2 || len(users) != 2 || users[0].Name != "127.0.0.1:4000" || users[1].Name != "alice" {
		t.Fatalf("users %q, %d in all, %v: want 127.0.0.1:4000 and alice, as her resumed session spells it", names(users), total, err)
	}
	if users, total, err := a.Users(ctx, 1); err != nil || total != 2 || len(users) != 1 {
		t.Fatalf("users at most 1: %q, %d in all, %v", names(users), total, err)
	}
	if takenOver, err := b.Release(ctx, "alice", 4); err != nil || takenOver {
		t.Fatalf("alice's holder releases her name: taken over %v, %v", takenOver, err)
	}
	if _, err := a.Claim(ctx, "alice", 5, 0); err != nil {
		t.Fatalf("alice, released by her holder, is not free: %v", err)
	}
}

// TestSend: a private message reaches the node that holds its recipient,
// and that node's verdict comes back: delivered, refused with its reason,
// or no such user; a name nobody holds, or whose node is gone, is no such
// user too.
func TestSend(t *testing.T) {
	ns := startNATS(t)
	ctx := context.Background()
	got := make(chan *core.Message, 1)
	bob := open(t, ns, "b", time.Minute, func(_ context.Context, session uint64, m *core.Message) error {
		switch {
		case session != 7:
			return core.ErrNoSuchUser
		case m.Text == "flood":
			return &core.Rejection{Reason: "bob has too many messages waiting: try again later"}
		}
		got <- m
		return nil
	})
	a := open(t, ns, "a", time.Minute, nil)
	if _, err := bob.Claim(ctx, "bob", 7, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Claim(ctx, "carol", 8, 0); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Truncate(time.Second)
	if err := a.Send(ctx, &core.Message{Kind: core.KindPrivate, From: "alice", To: "Bob", Text: "hi", Time: at}); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m.From != "alice" || m.To != "Bob" || m.Text != "hi" || !m.Time.Equal(at) || m.Kind != core.KindPrivate {
		t.Fatalf("bob's node was handed %+v", m)
	}
	var refused *core.Rejection
	if err := a.Send(ctx, &core.Message{From: "alice", To: "bob", Text: "flood"}); !errors.As(err, &refused) || refused.Reason != "bob has too many messages waiting: try again later" {
		t.Fatalf("a refused message: %v", err)
	}
	if err := a.Send(ctx, &core.Message{From: "alice", To: "carol", Text: "hi"}); !errors.Is(err, core.ErrNoSuchUser) {
		t.Fatalf("to a user her node no longer has: %v, want ErrNoSuchUser", err)
	}
	if err := a.Send(ctx, &core.Message{From: "alice", To: "dave", Text: "hi"}); !errors.Is(err, core.ErrNoSuchUser) {
		t.Fatalf("to nobody: %v, want ErrNoSuchUser", err)
	}
	bob.Close() // as a node that stops: its claims stay until they lapse
	if err := a.Send(ctx, &core.Message{From: "alice", To: "bob", Text: "hi"}); !errors.Is(err, core.ErrNoSuchUser) {
		t.Fatalf("to a user of a node that stopped: %v, want ErrNoSuchUser", err)
	}
}

// TestClaimsLapse: a node that stops refreshing (Close, as a dead one)
// loses its claims after the TTL, and not before: a live node's claims,
// refreshed, outlast it.
func TestClaimsLapse(t *testing.T) {
	const ttl = time.Second
	ns := startNATS(t)
	ctx := context.Background()
	a := open(t, ns, "a", ttl, nil)
	b := open(t, ns, "b", ttl, nil)
	if _, err := a.Claim(ctx, "alice", 1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Claim(ctx, "bob", 2, 0); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	b.Close()
	deadline := time.Now().Add(testkit.Timeout)
	for {
		_, err := a.Claim(ctx, "bob", 3, 0)
		if err == nil {
			break
		}
		if !errors.Is(err, core.ErrNickTaken) || time.Now().After(deadline) {
			t.Fatalf("bob's claim, of a stopped node: %v after %v", err, time.Since(stopped))
		}
		time.Sleep(ttl / 10)
	}
	if lapsed := time.Since(stopped); lapsed < ttl*9/10 {
		t.Fatalf("bob's claim lapsed %v after his node stopped, before the TTL (%v)", lapsed, ttl)
	}
	t.Logf("bob's claim lapsed %v after his node stopped (TTL %v)", time.Since(stopped), ttl)
	users, _, err := a.Users(ctx, 10)
	if err != nil || len(users) != 2 || users[0].Name != "alice" || users[1].Name != "bob" {
		t.Fatalf("users %q, %v: want alice, refreshed past the TTL, and bob, claimed again", names(users), err)
	}
}
