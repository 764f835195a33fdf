// Package reliabilitytest is the conformance suite of reliability layers
// (core.Reliability), held to the promises of core's Sender and Receiver
// interfaces: each layer's package, or a third party's, calls TestLayer
// from its tests and FuzzSender and FuzzReceiver from its fuzz targets, so
// that the checks live in one place and every layer is held to the same
// ones.
//
// TestLayer walks a layer step by step, on a virtual clock, through what
// every layer does: in-order delivery, duplicates, unknown ACKs,
// retransmission after the RTO, giving up after MaxRetries, backoff up to
// MaxRTO, persisting without giving up, Drain and the
// queue bound.
//
// A fuzzed input is a program: a few bytes of configuration, then operations
// whose arguments, ACK numbers above all, are the attacker's (the peer's)
// choice. The harness keeps a model of what the layer was told and checks
// each answer against it.
package reliabilitytest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Layer is a reliability layer under test, with what it promises about
// bounds that the interfaces leave to the layer.
type Layer struct {
	core.Reliability
	// Window is how many messages the layer keeps in flight at once, and
	// holds back behind a gap, under cfg.
	Window func(cfg core.ReliabilityConfig) int
	// ReceiveWindow, if not nil, is how many messages past the cumulative
	// acknowledgement its receiver takes under cfg, where that is not
	// Window: the receiver's Classify calls the first beyond it out of
	// order, and at most one fewer is held back behind a gap.
	ReceiveWindow func(cfg core.ReliabilityConfig) int
	// Pace is the longest the layer's pacing may hold a message pushed
	// while its Sender said it could send (core.Flow), counted from the
	// first Poll after the push: a Poll that late or later must send it.
	// Zero: the layer does not pace, and the first Poll sends it.
	Pace time.Duration
}

// receiveWindow is ReceiveWindow, or Window if the layer has none of its
// own.
func (l Layer) receiveWindow(cfg core.ReliabilityConfig) int {
	if l.ReceiveWindow != nil {
		return l.ReceiveWindow(cfg)
	}
	return l.Window(cfg)
}

// maxProgram bounds the bytes of a program that are run: longer inputs add
// nothing a short one cannot reach, and would slow every execution.
const maxProgram = 1024

// Sender operations, the first byte of each (modulo their number).
const (
	OpPush     byte = iota // a message
	OpPushFail             // a message whose build fails
	OpAck                  // flags, Seq, Cum: an ACK as the peer chooses it
	OpPoll                 // delta: advance the clock by delta*10ms, then Poll
	OpDrain                // the session ends
	numSenderOps
)

// OpAck flags.
const (
	AckSeqWide   byte = 1 << iota // Seq is 8 bytes, not 1
	AckCumWide                    // Cum is 8 bytes, not 1
	AckHasCum                     // the ACK carries Cum
	AckHasWindow                  // the ACK advertises a window: one more byte
)

// Receiver operations.
const (
	OpArrive      byte = iota // offset: seq Cumulative()+offset%max(64, 2*window) arrives
	OpArriveWide              // 8 bytes: that seq arrives
	OpAcceptBlind             // offset: Accept without asking Classify first
	numReceiverOps
)

// program reads a fuzzed input; past its end it reads zeros, so that every
// input is a valid program.
type program struct{ b []byte }

func (p *program) more() bool { return len(p.b) > 0 }

func (p *program) byte() byte {
	if len(p.b) == 0 {
		return 0
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}

func (p *program) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], p.b)
	p.b = p.b[n:]
	return binary.BigEndian.Uint64(buf[:])
}

// num reads a number that is 8 bytes wide, or 1, so that small sequence
// numbers, the ones actually in use, come up often.
func (p *program) num(wide bool) uint64 {
	if wide {
		return p.uint64()
	}
	return uint64(p.byte())
}

// SenderConfig is the configuration the first four bytes of a sender program
// give. Every field but MaxRTO is positive, so that no layer substitutes its
// defaults and the bounds checked are the ones set. The first byte's low
// three bits are the RTO; its next four MaxRTO, in tenths of a second (0:
// none), which may be below the RTO; its top bit Persist.
func SenderConfig(b []byte) core.ReliabilityConfig {
	p := program{b}
	first := p.byte()
	return core.ReliabilityConfig{
		RTO:        time.Duration(1+first%8) * 50 * time.Millisecond,
		MaxRTO:     time.Duration(first>>3&0xf) * 100 * time.Millisecond,
		Persist:    first&0x80 != 0,
		MaxRetries: 1 + int(p.byte()%5),
		Queue:      1 + int(p.byte()%16),
		Window:     1 + int(p.byte()%8),
	}
}

// Seeds are sender programs for the corpus: the ordinary life of a session,
// and a few ways a peer's ACKs can lie.
var Seeds = [][]byte{
	// push three, send, ACK each in turn, cumulatively
	{0, 2, 15, 7, OpPush, OpPush, OpPush, OpPoll, 0, OpAck, AckHasCum, 0, 1, OpPoll, 1, OpAck, AckHasCum, 1, 2, OpPoll, 1, OpAck, AckHasCum, 2, 3, OpPoll, 0},
	// no ACK ever: retransmissions until the sender gives up
	{0, 1, 3, 2, OpPush, OpPush, OpPoll, 0, OpPoll, 5, OpPoll, 5, OpPoll, 5, OpPoll, 5, OpPoll, 5},
	// ACKs for messages never sent, and a forged cumulative ACK far ahead
	{3, 4, 7, 3, OpPush, OpPush, OpAck, 0, 5, 0, OpAck, AckSeqWide | AckCumWide | AckHasCum, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, OpPoll, 0, OpAck, AckHasCum, 9, 0xff, OpPoll, 1},
	// a full queue, a failed build, then the session ends
	{1, 1, 1, 1, OpPush, OpPush, OpPushFail, OpPoll, 0, OpDrain, OpPush, OpPoll, 2, OpDrain},
	// persisting, with a backoff capped at 0.4 s: no ACK, polls far apart
	{0x80 | 4<<3 | 1, 1, 3, 2, OpPush, OpPush, OpPoll, 0, OpPoll, 5, OpPoll, 10, OpPoll, 20, OpPoll, 40, OpPoll, 40, OpPoll, 40, OpPoll, 40, OpPoll, 40, OpAck, AckHasCum, 0, 1, OpPoll, 40},
	// selective ACKs of later messages, no cumulative one: fast retransmit
	{0, 4, 15, 7, OpPush, OpPush, OpPush, OpPush, OpPush, OpPoll, 0, OpAck, 0, 1, 0, OpAck, 0, 2, 0, OpAck, 0, 3, 0, OpAck, 0, 4, 0, OpPoll, 2, OpPoll, 20, OpAck, AckHasCum, 0, 5, OpPoll, 1},
}

// ReceiverSeeds are receiver programs for the corpus: in order, a gap
// filled late, duplicates, and numbers far beyond the window.
var ReceiverSeeds = [][]byte{
	{3, OpArrive, 0, OpArrive, 0, OpArrive, 1, OpArrive, 0},
	{7, OpArrive, 2, OpArrive, 1, OpArrive, 2, OpArrive, 0, OpArrive, 0},
	{0, OpArriveWide, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, OpArrive, 63, OpAcceptBlind, 5, OpAcceptBlind, 0},
}

// fuzzPrograms fuzzes run with programs, starting from seeds.
func fuzzPrograms(f *testing.F, seeds [][]byte, run func(t *testing.T, program []byte)) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { run(t, b[:min(len(b), maxProgram)]) })
}

// sent is the harness's record of one pushed message; its ref is its index.
type sent struct {
	seq      uint64
	datagram []byte
	attempts int
	done     bool // returned by Ack, Poll (failed) or Drain
	// due: pushed when the Sender said it could send, so the next Poll
	// must send it, or a Poll at least Layer.Pace after that one.
	due bool
	// dueFrom is the time of the first Poll after a due message's push.
	dueFrom time.Time
}

// senderRun checks one program against one sender.
type senderRun struct {
	t    *testing.T
	cfg  core.ReliabilityConfig
	win  int
	pace time.Duration
	s    core.Sender
	msgs []sent
	live int // pushed and not yet returned
	// firstSent is the seq last sent for the first time: messages leave
	// the queue in order.
	firstSent uint64
	anyFirst  bool
	// lastNext is what the last Poll asked for, and onlyPolls whether
	// nothing but Polls came since: a Poll at or after it must then act.
	lastNext  time.Time
	onlyPolls bool
}

// FuzzSender runs fuzzed programs (configuration, then Push, Ack, Poll and
// Drain) against l's Sender, and checks on every step that:
//   - Push numbers messages 0, 1, 2... with no number used twice, not even
//     after Drain or a failed build; it refuses with ErrQueueFull exactly
//     when Pending has reached cfg.Queue, and a failed build changes nothing;
//   - Pending is exactly the messages pushed and not yet handed back, so it
//     never exceeds cfg.Queue, and at most l.Window of them have been sent;
//   - every ref comes back at most once, from Ack, Poll's failed or Drain;
//   - an ACK acknowledges only messages that were sent, and of them only the
//     one it names or those below its cumulative number, in order: an ACK
//     for a message never sent acknowledges nothing;
//   - a message is sent with its own datagram, attempts count 1, 2, 3... and
//     never exceed 1+cfg.MaxRetries unless cfg.Persist, messages are first
//     sent in seq order, and none is given up on before its retries are
//     spent, nor ever with cfg.Persist;
//   - Poll's next is zero exactly when nothing is pending, and otherwise
//     after now, so the engine never spins, and with cfg.MaxRTO no later
//     than max(MaxRTO, RTO) after now;
//   - a Poll at or after the time the last one asked for, with nothing but
//     Polls between, sends something or gives up on something: so a
//     persisting sender with MaxRTO retransmits at least that often;
//   - Drain returns every pending ref, in seq order, and leaves nothing;
//   - a message pushed while the Sender said it could send (core.Flow) is
//     sent by the next Poll, or, by a layer that paces, by a Poll l.Pace
//     after that one at the latest.
func FuzzSender(f *testing.F, l Layer) {
	fuzzPrograms(f, Seeds, func(t *testing.T, b []byte) {
		cfg := SenderConfig(b)
		r := &senderRun{t: t, cfg: cfg, win: l.Window(cfg), pace: l.Pace, s: l.NewSender(cfg)}
		p := program{b[min(len(b), 4):]}
		now := time.Unix(1_000_000, 0)
		for step := 0; p.more(); step++ {
			switch op := p.byte() % numSenderOps; op {
			case OpPush, OpPushFail:
				r.push(step, op == OpPushFail)
			case OpAck:
				flags := p.byte()
				a := core.Ack{Seq: p.num(flags&AckSeqWide != 0), Cum: p.num(flags&AckCumWide != 0), HasCum: flags&AckHasCum != 0}
				if flags&AckHasWindow != 0 {
					a.Window, a.HasWindow = uint32(p.byte()), true
				}
				r.ack(step, a, now)
			case OpPoll:
				now = now.Add(time.Duration(p.byte()) * 10 * time.Millisecond)
				r.poll(step, now)
			case OpDrain:
				r.drain(step)
			}
			if got := r.s.Pending(); got != r.live {
				t.Fatalf("step %d: Pending = %d, but %d messages were pushed and not handed back", step, got, r.live)
			}
			if r.live > cfg.Queue {
				t.Fatalf("step %d: %d pending, more than the queue of %d", step, r.live, cfg.Queue)
			}
			if n := r.inFlight(); n > r.win {
				t.Fatalf("step %d: %d messages in flight, more than the window of %d", step, n, r.win)
			}
		}
	})
}

var errBuild = errors.New("build failed")

func (r *senderRun) push(step int, fail bool) {
	t := r.t
	r.onlyPolls = false
	seq := uint64(len(r.msgs))
	builds := 0
	dg := fmt.Appendf(nil, "dg%d", seq)
	flow, ok := r.s.(core.Flow)
	due := ok && flow.CanSend()
	got, err := r.s.Push(func(n uint64) ([]byte, error) {
		builds++
		if n != seq {
			t.Fatalf("step %d: build asked for seq %d, want %d", step, n, seq)
		}
		if fail {
			return nil, errBuild
		}
		return dg, nil
	}, len(r.msgs))
	switch {
	case r.live >= r.cfg.Queue:
		if !errors.Is(err, core.ErrQueueFull) || builds != 0 {
			t.Fatalf("step %d: Push with %d of %d queued = %v after %d builds, want ErrQueueFull and none", step, r.live, r.cfg.Queue, err, builds)
		}
	case fail:
		if !errors.Is(err, errBuild) || builds != 1 {
			t.Fatalf("step %d: Push with a failing build = %v after %d builds", step, err, builds)
		}
	default:
		if err != nil || got != seq || builds != 1 {
			t.Fatalf("step %d: Push = %d, %v after %d builds, want seq %d, once", step, got, err, builds, seq)
		}
		r.msgs = append(r.msgs, sent{seq: seq, datagram: dg, due: due})
		r.live++
	}
}

// take marks ref handed back by what, and returns its message.
func (r *senderRun) take(step int, what string, ref any) *sent {
	i, ok := ref.(int)
	if !ok || i < 0 || i >= len(r.msgs) {
		r.t.Fatalf("step %d: %s returned %v, a ref never pushed", step, what, ref)
	}
	m := &r.msgs[i]
	if m.done {
		r.t.Fatalf("step %d: %s returned ref %d (seq %d), already handed back", step, what, i, m.seq)
	}
	m.done = true
	r.live--
	return m
}

func (r *senderRun) ack(step int, a core.Ack, now time.Time) {
	r.onlyPolls = false
	var last uint64
	for i, ref := range r.s.Ack(a, now) {
		m := r.take(step, fmt.Sprintf("Ack(%+v)", a), ref)
		switch {
		case m.attempts == 0:
			r.t.Fatalf("step %d: Ack(%+v) acknowledged seq %d, which was never sent", step, a, m.seq)
		case m.seq != a.Seq && !(a.HasCum && m.seq < a.Cum):
			r.t.Fatalf("step %d: Ack(%+v) acknowledged seq %d, which it neither names nor covers", step, a, m.seq)
		case i > 0 && m.seq <= last:
			r.t.Fatalf("step %d: Ack(%+v) acknowledged seq %d after %d", step, a, m.seq, last)
		}
		last = m.seq
	}
}

func (r *senderRun) poll(step int, now time.Time) {
	t := r.t
	send, failed, next := r.s.Poll(now)
	if r.onlyPolls && !r.lastNext.IsZero() && !now.Before(r.lastNext) && len(send)+len(failed) == 0 {
		t.Fatalf("step %d: Poll at %v, at or after the %v it asked for, did nothing", step, now, r.lastNext)
	}
	r.lastNext, r.onlyPolls = next, true
	for _, f := range failed {
		m := r.take(step, "Poll (failed)", f)
		if r.cfg.Persist {
			t.Fatalf("step %d: seq %d given up on after %d transmissions, by a sender told to persist", step, m.seq, m.attempts)
		}
		if m.attempts < 1+r.cfg.MaxRetries {
			t.Fatalf("step %d: seq %d given up on after %d transmissions, before its %d retries", step, m.seq, m.attempts, r.cfg.MaxRetries)
		}
	}
	for _, tr := range send {
		i, ok := tr.Ref.(int)
		if !ok || i < 0 || i >= len(r.msgs) || r.msgs[i].done {
			t.Fatalf("step %d: Poll sent ref %v, not a pending message", step, tr.Ref)
		}
		m := &r.msgs[i]
		m.attempts++
		switch {
		case string(tr.Datagram) != string(m.datagram):
			t.Fatalf("step %d: seq %d sent as %q, built as %q", step, m.seq, tr.Datagram, m.datagram)
		case tr.Attempt != m.attempts:
			t.Fatalf("step %d: seq %d sent as attempt %d, but it is its transmission %d", step, m.seq, tr.Attempt, m.attempts)
		case m.attempts > 1+r.cfg.MaxRetries && !r.cfg.Persist:
			t.Fatalf("step %d: seq %d sent %d times, more than 1+%d retries", step, m.seq, m.attempts, r.cfg.MaxRetries)
		}
		if m.attempts == 1 {
			if r.anyFirst && m.seq <= r.firstSent {
				t.Fatalf("step %d: seq %d sent for the first time after seq %d", step, m.seq, r.firstSent)
			}
			r.firstSent, r.anyFirst = m.seq, true
		}
	}
	for i := range r.msgs {
		m := &r.msgs[i]
		if !m.due || m.done || m.attempts != 0 {
			continue
		}
		if m.dueFrom.IsZero() {
			m.dueFrom = now
		}
		if !now.Before(m.dueFrom.Add(r.pace)) {
			t.Fatalf("step %d: seq %d was pushed when CanSend said it would go, but Poll did not send it within %v", step, m.seq, r.pace)
		}
	}
	pending := r.s.Pending()
	switch {
	case next.IsZero() != (pending == 0):
		t.Fatalf("step %d: Poll's next is %v with %d pending: zero exactly when nothing is", step, next, pending)
	case !next.IsZero() && !next.After(now):
		t.Fatalf("step %d: Poll at %v asks to be called again at %v", step, now, next)
	case r.cfg.MaxRTO > 0 && next.After(now.Add(max(r.cfg.MaxRTO, r.cfg.RTO))):
		t.Fatalf("step %d: Poll at %v asks to be called again at %v, later than MaxRTO %v (RTO %v)", step, now, next, r.cfg.MaxRTO, r.cfg.RTO)
	}
}

func (r *senderRun) drain(step int) {
	r.onlyPolls = false
	var want []int
	for i := range r.msgs {
		if !r.msgs[i].done {
			want = append(want, i)
		}
	}
	refs := r.s.Drain()
	got := make([]int, 0, len(refs))
	for _, ref := range refs {
		r.take(step, "Drain", ref)
		got = append(got, ref.(int))
	}
	if !slices.Equal(got, want) {
		r.t.Fatalf("step %d: Drain = %v, want every pending ref in seq order: %v", step, got, want)
	}
}

func (r *senderRun) inFlight() int {
	n := 0
	for _, m := range r.msgs {
		if m.attempts > 0 && !m.done {
			n++
		}
	}
	return n
}

// FuzzReceiver runs fuzzed programs of arriving sequence numbers against l's
// Receiver, the first byte setting cfg.Window (which l.ReceiveWindow may
// make more), and checks on every step that:
//   - Classify says Duplicate below Cumulative and for a seq held back,
//     OutOfOrder at Cumulative+window and beyond, and New otherwise;
//   - Accept takes only what Classify calls New, and returns the messages
//     handed on: over the whole run every seq exactly once, in increasing
//     order with no gaps, each with its own value;
//   - Cumulative is the number handed on, so it never decreases;
//   - what is held back is below Cumulative+window, so fewer than window.
func FuzzReceiver(f *testing.F, l Layer) {
	fuzzPrograms(f, ReceiverSeeds, func(t *testing.T, b []byte) {
		p := program{b}
		cfg := core.ReliabilityConfig{Window: 1 + int(p.byte()%16)}
		win := uint64(l.receiveWindow(cfg))
		span := max(64, 2*win) // the offsets of OpArrive: past the window's edge
		r := l.NewReceiver(cfg)
		if rw, ok := r.(core.ReceiveWindow); ok && uint64(rw.Window()) != win {
			t.Fatalf("the receiver says it takes %d, but takes %d", rw.Window(), win)
		}
		var next uint64 // the model's Cumulative
		held := map[uint64]bool{}
		for step := 0; p.more(); step++ {
			op := p.byte() % numReceiverOps
			var seq uint64
			if op == OpArriveWide {
				seq = p.uint64()
			} else {
				seq = next + uint64(p.byte())%span
			}
			want := core.ArrivalNew
			switch {
			case seq < next || held[seq]:
				want = core.ArrivalDuplicate
			case seq-next >= win:
				want = core.ArrivalOutOfOrder
			}
			if op != OpAcceptBlind {
				if got := r.Classify(seq); got != want {
					t.Fatalf("step %d: Classify(%d) = %d with Cumulative %d, window %d, held %v: want %d", step, seq, got, next, win, held, want)
				}
				if want != core.ArrivalNew {
					continue
				}
			}
			ready := r.Accept(seq, seq)
			var wantReady []any
			if want == core.ArrivalNew {
				held[seq] = true
				for held[next] {
					delete(held, next)
					wantReady = append(wantReady, next)
					next++
				}
			}
			if !slices.Equal(ready, wantReady) {
				t.Fatalf("step %d: Accept(%d) = %v with %v held, want %v", step, seq, ready, held, wantReady)
			}
			if got := r.Cumulative(); got != next {
				t.Fatalf("step %d: Cumulative = %d after handing on all below %d", step, got, next)
			}
			if uint64(len(held)) >= win {
				t.Fatalf("step %d: %d held back with a window of %d", step, len(held), win)
			}
		}
	})
}
