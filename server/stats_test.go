package server_test

import (
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/server"
)

// TestStats: what the server counts for its operator moves as a short chat
// goes: datagrams both ways, a garbage datagram under its reason, a
// delivery and a latency for each message to each recipient, appends to
// the room log; the sessions by protocol, suite and codec, none behind;
// and Serving from ready to shutdown.
func TestStats(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	testkit.WaitUntil(t, "the server to serve", room.Server.Serving)
	a, b := room.Join(), room.Join()
	// Everything the joins bring has gone to each once each has a line
	// of the other's, since each recipient's messages go in order.
	a.WaitMessage("b's join", func(m core.Message) bool { return strings.Contains(m.Text, b.Name()+" joined") })
	a.WaitDelivered(a.Say("ready?"))
	b.WaitChat(1)
	b.WaitDelivered(b.Say("ready"))
	a.WaitChat(1)
	before := room.Server.Stats()

	raw := room.Raw()
	raw.Send([]byte("not a packet"))
	const said = 3
	for _, text := range []string{"one", "two", "three"} {
		a.WaitDelivered(a.Say(text))
	}
	b.WaitChat(1 + said)
	testkit.WaitUntil(t, "the garbage dropped", func() bool { return room.Server.Stats().Dropped > before.Dropped })
	st := room.Server.Stats()

	if got := st.Delivered - before.Delivered; got != said {
		t.Errorf("%d deliveries, want %d (each message to its one other recipient)", got, said)
	}
	if got := st.Latency.Count() - before.Latency.Count(); got != said {
		t.Errorf("%d latencies, want %d", got, said)
	}
	if st.Latency.Sum < before.Latency.Sum {
		t.Errorf("latency sum went back: %v, then %v", before.Latency.Sum, st.Latency.Sum)
	}
	if got := st.DroppedBy[server.DropUndecodable] - before.DroppedBy[server.DropUndecodable]; got != 1 {
		t.Errorf("%d undecodable drops, want 1; by reason: %v", got, st.DroppedBy)
	}
	if got := st.LogAppends - before.LogAppends; got < said {
		t.Errorf("%d room log appends, want at least %d", got, said)
	}
	if st.Sent <= before.Sent || st.Received <= before.Received {
		t.Errorf("datagrams sent %d→%d, received %d→%d: want both to move", before.Sent, st.Sent, before.Received, st.Received)
	}

	ss := room.Server.SessionStats()
	want := server.SessionGroup{Protocol: 2, Suite: a.Info().Suite, Codec: "json", Sessions: 2}
	if len(ss.Groups) != 1 || ss.Groups[0] != want {
		t.Errorf("session groups %+v, want [%+v]", ss.Groups, want)
	}
	testkit.WaitUntil(t, "both recipients caught up", func() bool {
		lag := room.Server.SessionStats().Lag
		return lag.Count() == 2 && lag.Counts[0] == 2 // the bucket of none behind
	})

	room.StopServer()
	if room.Server.Serving() {
		t.Error("still serving after the server stopped")
	}
}

// TestDropReasons: every reason has a label of its own.
func TestDropReasons(t *testing.T) {
	seen := map[string]bool{}
	for r := range server.NumDropReasons {
		name := r.String()
		if name == "" || name == "unknown" || seen[name] || strings.ContainsAny(name, " -") {
			t.Errorf("reason %d: label %q", r, name)
		}
		seen[name] = true
	}
}
