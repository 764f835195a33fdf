package fault_test

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/transport/fault"
	"github.com/udpchat/udpchat/transport/memory"
	"github.com/udpchat/udpchat/transport/transporttest"
	"github.com/udpchat/udpchat/transport/udp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitLimit bounds every wait, so a lost datagram fails a test instead of
// hanging it. No assertion depends on how fast anything happens.
const waitLimit = 10 * time.Second

func listen(t *testing.T, n *memory.Network) core.Transport {
	t.Helper()
	return transporttest.Listen(t, n, netip.AddrPort{})
}

// wrap wraps tr; the cleanup closes the wrapper, which closes tr.
func wrap(t *testing.T, tr core.Transport, cfg fault.Config) *fault.Transport {
	t.Helper()
	ft := fault.Wrap(tr, cfg)
	t.Cleanup(func() { ft.Close() })
	return ft
}

type arrival struct {
	data []byte
	from netip.AddrPort
	at   time.Time
}

// collect reads tr until it is closed and hands every datagram over with its
// arrival time.
func collect(tr core.Transport) <-chan arrival {
	ch := make(chan arrival, 1<<15)
	go func() {
		defer close(ch)
		buf := make([]byte, 65536)
		for {
			n, from, err := tr.ReadFrom(buf)
			if err != nil {
				return
			}
			ch <- arrival{append([]byte(nil), buf[:n]...), from, time.Now()}
		}
	}()
	return ch
}

// expect returns the next n arrivals, failing if they do not come in time.
func expect(t *testing.T, ch <-chan arrival, n int) []arrival {
	t.Helper()
	deadline := time.After(waitLimit)
	got := make([]arrival, 0, n)
	for len(got) < n {
		select {
		case a, ok := <-ch:
			if !ok {
				t.Fatalf("reader stopped after %d of %d datagrams", len(got), n)
			}
			got = append(got, a)
		case <-deadline:
			t.Fatalf("only %d of %d datagrams arrived", len(got), n)
		}
	}
	return got
}

func seqMsg(i int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(i)) }

func seqOf(t *testing.T, a arrival) int {
	t.Helper()
	if len(a.data) != 4 {
		t.Fatalf("unexpected datagram %q", a.data)
	}
	return int(binary.BigEndian.Uint32(a.data))
}

func send(t *testing.T, from core.Transport, to netip.AddrPort, first, count int) {
	t.Helper()
	for i := first; i < first+count; i++ {
		if _, err := from.WriteTo(seqMsg(i), to); err != nil {
			t.Fatalf("WriteTo #%d: %v", i, err)
		}
	}
}

// setup is a sender and a receiver on a fresh memory network, with cfg applied
// on the sending side for the "send" direction or on the receiving side for
// "receive", so each fault is tested where it acts.
type setup struct {
	net              *memory.Network
	sender, receiver core.Transport
	ft               *fault.Transport
	arrivals         <-chan arrival
}

func newSetup(t *testing.T, dir string, f fault.Faults, seed uint64) *setup {
	t.Helper()
	n := memory.NewNetwork()
	s := &setup{net: n, sender: listen(t, n), receiver: listen(t, n)}
	switch dir {
	case "send":
		s.ft = wrap(t, s.sender, fault.Config{Seed: seed, Send: f})
		s.sender = s.ft
	case "receive":
		s.ft = wrap(t, s.receiver, fault.Config{Seed: seed, Receive: f})
		s.receiver = s.ft
	default:
		t.Fatalf("unknown direction %q", dir)
	}
	s.arrivals = collect(s.receiver)
	return s
}

func (s *setup) counts() fault.Counts {
	st := s.ft.Stats()
	if s.ft == s.sender {
		return st.Send
	}
	return st.Receive
}

// settled waits until every one of total datagrams has been passed on or
// dropped, and returns how many were passed on.
func (s *setup) settled(t *testing.T, total uint64) uint64 {
	t.Helper()
	testkit.WaitUntil(t, "the faults to settle", func() bool {
		c := s.counts()
		// Added, not subtracted: these are unsigned, and duplicates may
		// be counted before the datagrams they copy are sent.
		return c.Sent+c.Dropped >= total+c.Duplicated
	})
	return s.counts().Sent
}

var directions = []string{"send", "receive"}

func TestValidate(t *testing.T) {
	good := fault.Config{
		Seed:    7,
		Send:    fault.Faults{Loss: 1, Duplicate: 0.5, Reorder: 0, Delay: time.Second, Jitter: time.Millisecond},
		Receive: fault.Faults{Loss: 0.1},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v", good, err)
	}
	for _, tc := range []struct {
		cfg  fault.Config
		want []string
	}{
		{fault.Config{Send: fault.Faults{Loss: 1.5}}, []string{"Send.Loss is 1.5"}},
		{fault.Config{Send: fault.Faults{Duplicate: -0.1}}, []string{"Send.Duplicate"}},
		{fault.Config{Receive: fault.Faults{Reorder: math.NaN()}}, []string{"Receive.Reorder is NaN"}},
		{fault.Config{Receive: fault.Faults{Delay: -time.Second}}, []string{"Receive.Delay is -1s"}},
		{fault.Config{Send: fault.Faults{Jitter: -1}, Receive: fault.Faults{Loss: 2}},
			[]string{"Send.Jitter", "Receive.Loss"}},
	} {
		err := tc.cfg.Validate()
		if err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", tc.cfg)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Validate(%+v) = %q, want it to mention %q", tc.cfg, err, w)
			}
		}
	}
}

func TestWrapPanicsOnInvalidConfig(t *testing.T) {
	n := memory.NewNetwork()
	tr := listen(t, n)
	defer func() {
		if recover() == nil {
			t.Fatal("Wrap accepted Loss 2")
		}
	}()
	fault.Wrap(tr, fault.Config{Send: fault.Faults{Loss: 2}})
}

// zeroFaults is a network of fault transports with no fault configured,
// over the transports of inner.
type zeroFaults struct{ inner core.Network }

func (n zeroFaults) Listen(local netip.AddrPort) (core.Transport, error) {
	tr, err := n.inner.Listen(local)
	if err != nil {
		return nil, err
	}
	return fault.Wrap(tr, fault.Config{}), nil
}

// TestZeroConfigPassesThrough: with no fault configured the wrapper is its
// inner transport, memory or UDP, to the conformance suite, and counts
// what it passed on.
func TestZeroConfigPassesThrough(t *testing.T) {
	t.Run("memory", func(t *testing.T) { transporttest.TestNetwork(t, zeroFaults{memory.NewNetwork()}) })
	t.Run("udp", func(t *testing.T) { transporttest.TestNetwork(t, zeroFaults{udp.Network{}}) })

	n := memory.NewNetwork()
	a := wrap(t, listen(t, n), fault.Config{})
	b := wrap(t, listen(t, n), fault.Config{})
	send(t, a, b.LocalAddr(), 0, 3)
	expect(t, collect(b), 3)
	if st := a.Stats(); st.Send != (fault.Counts{Sent: 3}) {
		t.Fatalf("sender stats %+v, want 3 sent and nothing else", st.Send)
	}
	if st := b.Stats(); st.Receive != (fault.Counts{Sent: 3}) {
		t.Fatalf("receiver stats %+v, want 3 passed on and nothing else", st.Receive)
	}
}

func TestLossOneDropsEverything(t *testing.T) {
	t.Run("send", func(t *testing.T) {
		s := newSetup(t, "send", fault.Faults{Loss: 1}, 1)
		send(t, s.sender, s.receiver.LocalAddr(), 0, 100)
		// Send-side loss is decided inside WriteTo and the memory network
		// keeps order, so a marker sent afterwards by someone else must be
		// the first thing to arrive.
		marker := listen(t, s.net)
		if _, err := marker.WriteTo([]byte("marker"), s.receiver.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if got := expect(t, s.arrivals, 1)[0]; string(got.data) != "marker" {
			t.Fatalf("datagram %q got through Loss 1", got.data)
		}
		if c := s.counts(); c.Dropped != 100 || c.Sent != 0 {
			t.Fatalf("stats %+v, want 100 dropped and none sent", c)
		}
	})
	t.Run("receive", func(t *testing.T) {
		s := newSetup(t, "receive", fault.Faults{Loss: 1}, 1)
		send(t, s.sender, s.receiver.LocalAddr(), 0, 100)
		s.settled(t, 100)
		if c := s.counts(); c.Dropped != 100 || c.Sent != 0 {
			t.Fatalf("stats %+v, want 100 dropped and none passed on", c)
		}
		if len(s.arrivals) != 0 {
			t.Fatalf("%d datagrams got through Loss 1", len(s.arrivals))
		}
	})
}

// received runs total datagrams through a Loss fault in batches small enough
// for every queue on the way, and reports which arrived.
func received(t *testing.T, dir string, seed uint64, total int) []bool {
	t.Helper()
	s := newSetup(t, dir, fault.Faults{Loss: 0.3}, seed)
	arrived := make([]bool, total)
	const batch = 500
	var passed uint64
	for first := 0; first < total; first += batch {
		send(t, s.sender, s.receiver.LocalAddr(), first, batch)
		now := s.settled(t, uint64(first+batch))
		for _, a := range expect(t, s.arrivals, int(now-passed)) {
			i := seqOf(t, a)
			if arrived[i] {
				t.Fatalf("#%d arrived twice", i)
			}
			arrived[i] = true
		}
		passed = now
	}
	if c := s.counts(); c.Dropped+c.Sent != uint64(total) {
		t.Fatalf("stats %+v do not add up to %d", c, total)
	}
	return arrived
}

func TestLossFractionIsReproducible(t *testing.T) {
	const total = 10000
	for _, dir := range directions {
		t.Run(dir, func(t *testing.T) {
			first := received(t, dir, 42, total)
			lost := total - count(first)
			if f := float64(lost) / total; f < 0.27 || f > 0.33 {
				t.Fatalf("lost %d of %d (%.3f), want about 0.3", lost, total, f)
			}
			if again := received(t, dir, 42, total); !slices.Equal(first, again) {
				t.Fatal("the same seed lost different datagrams")
			}
			if other := received(t, dir, 43, total); slices.Equal(first, other) {
				t.Fatal("another seed lost exactly the same datagrams")
			}
		})
	}
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func TestDuplicateOneDoubles(t *testing.T) {
	for _, dir := range directions {
		t.Run(dir, func(t *testing.T) {
			s := newSetup(t, dir, fault.Faults{Duplicate: 1}, 1)
			const total = 50
			send(t, s.sender, s.receiver.LocalAddr(), 0, total)
			seen := make(map[int]int)
			for _, a := range expect(t, s.arrivals, 2*total) {
				seen[seqOf(t, a)]++
			}
			for i := range total {
				if seen[i] != 2 {
					t.Fatalf("#%d arrived %d times, want 2", i, seen[i])
				}
			}
			if c := s.counts(); c.Duplicated != total || c.Sent != 2*total {
				t.Fatalf("stats %+v, want %d duplicated and %d sent", c, total, 2*total)
			}
		})
	}
}

func TestReorderScramblesButLosesNothing(t *testing.T) {
	for _, dir := range directions {
		t.Run(dir, func(t *testing.T) {
			s := newSetup(t, dir, fault.Faults{Reorder: 0.3}, 1)
			const total = 500
			send(t, s.sender, s.receiver.LocalAddr(), 0, total)
			got := expect(t, s.arrivals, total)
			order := make([]int, total)
			for i, a := range got {
				order[i] = seqOf(t, a)
			}
			if slices.IsSorted(order) {
				t.Fatal("Reorder 0.3 delivered everything in order")
			}
			sorted := slices.Sorted(slices.Values(order))
			for i, v := range sorted {
				if v != i {
					t.Fatalf("after sorting, position %d holds #%d: something was lost or doubled", i, v)
				}
			}
			if c := s.counts(); c.Reordered == 0 || c.Sent != total || c.Dropped != 0 {
				t.Fatalf("stats %+v, want some reordered, %d sent, none dropped", c, total)
			}
		})
	}
}

func TestReorderReleasesALoneDatagram(t *testing.T) {
	for _, dir := range directions {
		t.Run(dir, func(t *testing.T) {
			s := newSetup(t, dir, fault.Faults{Reorder: 1}, 1)
			send(t, s.sender, s.receiver.LocalAddr(), 0, 1)
			if got := seqOf(t, expect(t, s.arrivals, 1)[0]); got != 0 {
				t.Fatalf("got #%d", got)
			}
			if c := s.counts(); c.Reordered != 1 || c.Sent != 1 {
				t.Fatalf("stats %+v, want 1 reordered and sent", c)
			}
		})
	}
}

func TestReorderOneSwapsPairs(t *testing.T) {
	for _, dir := range directions {
		t.Run(dir, func(t *testing.T) {
			s := newSetup(t, dir, fault.Faults{Reorder: 1}, 1)
			send(t, s.sender, s.receiver.LocalAddr(), 0, 6)
			var order []int
			for _, a := range expect(t, s.arrivals, 6) {
				order = append(order, seqOf(t, a))
			}
			if want := []int{1, 0, 3, 2, 5, 4}; !slices.Equal(order, want) {
				t.Fatalf("arrival order %v, want %v", order, want)
			}
		})
	}
}

func TestDelayDelays(t *testing.T) {
	const delay = 30 * time.Millisecond
	for _, dir := range directions {
		t.Run(dir, func(t *testing.T) {
			s := newSetup(t, dir, fault.Faults{Delay: delay}, 1)
			start := time.Now()
			send(t, s.sender, s.receiver.LocalAddr(), 0, 1)
			if elapsed := expect(t, s.arrivals, 1)[0].at.Sub(start); elapsed < delay {
				t.Fatalf("arrived after %v, want at least %v", elapsed, delay)
			}
			if c := s.counts(); c.Delayed != 1 || c.Sent != 1 {
				t.Fatalf("stats %+v, want 1 delayed and sent", c)
			}
		})
	}
}

func TestDelayKeepsOrder(t *testing.T) {
	for _, dir := range directions {
		t.Run(dir, func(t *testing.T) {
			s := newSetup(t, dir, fault.Faults{Delay: 5 * time.Millisecond}, 1)
			const total = 200
			send(t, s.sender, s.receiver.LocalAddr(), 0, total)
			for i, a := range expect(t, s.arrivals, total) {
				if got := seqOf(t, a); got != i {
					t.Fatalf("arrival %d is #%d: a constant delay reordered", i, got)
				}
			}
		})
	}
}

func TestJitter(t *testing.T) {
	const delay, jitter = 10 * time.Millisecond, 20 * time.Millisecond
	for _, dir := range directions {
		t.Run(dir, func(t *testing.T) {
			s := newSetup(t, dir, fault.Faults{Delay: delay, Jitter: jitter}, 1)
			const total = 100
			sent := make([]time.Time, total)
			for i := range total {
				sent[i] = time.Now()
				send(t, s.sender, s.receiver.LocalAddr(), i, 1)
			}
			seen := make(map[int]bool)
			for _, a := range expect(t, s.arrivals, total) {
				i := seqOf(t, a)
				if seen[i] {
					t.Fatalf("#%d arrived twice", i)
				}
				seen[i] = true
				if elapsed := a.at.Sub(sent[i]); elapsed < delay {
					t.Fatalf("#%d arrived after %v, want at least %v", i, elapsed, delay)
				}
			}
			if c := s.counts(); c.Delayed != total || c.Sent != total {
				t.Fatalf("stats %+v, want %d delayed and sent", c, total)
			}
		})
	}
}

func TestAllFaultsTogether(t *testing.T) {
	f := fault.Faults{Loss: 0.2, Duplicate: 0.2, Reorder: 0.2, Delay: time.Millisecond, Jitter: 2 * time.Millisecond}
	for _, dir := range directions {
		t.Run(dir, func(t *testing.T) {
			s := newSetup(t, dir, f, 9)
			const total = 300
			send(t, s.sender, s.receiver.LocalAddr(), 0, total)
			passed := s.settled(t, total)
			expect(t, s.arrivals, int(passed))
			c := s.counts()
			if c.Dropped == 0 || c.Duplicated == 0 || c.Reordered == 0 || c.Delayed == 0 {
				t.Fatalf("stats %+v: some fault never happened", c)
			}
			if c.Sent != total-c.Dropped+c.Duplicated {
				t.Fatalf("stats %+v do not add up for %d datagrams", c, total)
			}
		})
	}
}

func TestCloseStopsEverything(t *testing.T) {
	n := memory.NewNetwork()
	peerTr, err := n.Listen(netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	peer := fault.Wrap(peerTr, fault.Config{})
	innerTr, err := n.Listen(netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	// Both directions hold datagrams far in the future, so timers and the
	// receive goroutine are all live when Close comes.
	ft := fault.Wrap(innerTr, fault.Config{
		Send:    fault.Faults{Delay: time.Hour},
		Receive: fault.Faults{Delay: time.Hour},
	})
	send(t, ft, peer.LocalAddr(), 0, 10)
	reading := readAsync(ft)
	send(t, peer, ft.LocalAddr(), 0, 10)
	testkit.WaitUntil(t, "the receive side to hold the datagrams", func() bool {
		return ft.Stats().Receive.Delayed == 10
	})

	if err := ft.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitClosed(t, reading, "after Close")
	if _, err := ft.WriteTo([]byte("late"), peer.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo after Close: %v, want net.ErrClosed", err)
	}
	if _, _, err := ft.ReadFrom(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrom after Close: %v, want net.ErrClosed", err)
	}
	if err := ft.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v, want net.ErrClosed", err)
	}
	if st := ft.Stats(); st.Send.Sent != 0 || st.Receive.Sent != 0 {
		t.Fatalf("stats %+v: something pending was delivered", st)
	}
	if err := peer.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t)
}

func TestInnerClosedUnderneath(t *testing.T) {
	n := memory.NewNetwork()
	inner := listen(t, n)
	ft := wrap(t, inner, fault.Config{Receive: fault.Faults{Duplicate: 1}})
	reading := readAsync(ft)
	inner.Close()
	waitClosed(t, reading, "after the inner transport closed")
}

// readAsync starts one ReadFrom of tr and returns where its error will
// arrive.
func readAsync(tr core.Transport) <-chan error {
	reading := make(chan error, 1)
	go func() {
		_, _, err := tr.ReadFrom(make([]byte, 100))
		reading <- err
	}()
	return reading
}

// waitClosed waits for the ReadFrom of readAsync to fail with net.ErrClosed,
// once the transport has closed (when says how).
func waitClosed(t *testing.T, reading <-chan error, when string) {
	t.Helper()
	select {
	case err := <-reading:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadFrom %s: %v, want net.ErrClosed", when, err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("ReadFrom still blocked %s", when)
	}
}

// The wrapper works around any transport, including real sockets.
func TestOverUDP(t *testing.T) {
	open := func() core.Transport {
		tr, err := udp.Listen("127.0.0.1:0")
		if err != nil {
			t.Fatalf("udp.Listen: %v", err)
		}
		return tr
	}
	a := wrap(t, open(), fault.Config{Seed: 3, Send: fault.Faults{Duplicate: 1, Delay: time.Millisecond}})
	b := wrap(t, open(), fault.Config{Seed: 3, Receive: fault.Faults{Duplicate: 1}})
	send(t, a, b.LocalAddr(), 0, 5)
	seen := make(map[int]int)
	for _, got := range expect(t, collect(b), 20) {
		if got.from != a.LocalAddr() {
			t.Fatalf("from %v, want %v", got.from, a.LocalAddr())
		}
		seen[seqOf(t, got)]++
	}
	for i := range 5 {
		if seen[i] != 4 {
			t.Fatalf("#%d arrived %d times, want 4 (doubled on each side)", i, seen[i])
		}
	}
}
