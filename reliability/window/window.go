// Package window is a sliding-window reliability layer: selective repeat,
// with many messages in flight, cumulative and selective acknowledgements,
// loss detected from the acknowledgements of messages sent later and the
// time since (RACK, RFC 8985), a retransmission timeout computed from the
// measured round-trip time as RFC 6298 specifies that grows for each
// message on its own (by half while the peer answers, as KCP's turbo mode
// does; doubling while it is silent), and pacing of first transmissions.
// KCP and QUIC's loss detection (RFC 9002) are its models.
//
// Version 2 peers may use it in either direction without negotiating it: its
// ACKs say what stop-and-wait's say, and it reads theirs. Version 1 sessions
// always use stop-and-wait, the only layer a seed peer speaks.
package window

import (
	"sort"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Name is the name the layer is registered under.
const Name = "window"

// Defaults and bounds.
const (
	// DefaultWindow is the messages in flight when the configuration gives
	// none: KCP's (kcp-go's turbo setting), about 5,000 messages a second
	// at a 24 ms round trip (docs/PERFORMANCE.md, "Reliability").
	DefaultWindow = 128
	// MinReceiveWindow is the least a receiver holds back ahead of a gap,
	// whatever its own configured window, so that a peer sending with the
	// default window is not starved by a receiver configured smaller: the
	// wire does not say what a receiver holds, so both must allow for it.
	MinReceiveWindow = 128
	DefaultQueue     = 1024
	// MinRTO and MaxRTO bound the timeout. RFC 6298 says 1 s at least,
	// written for the Internet of 2000; like QUIC and KCP we go lower, or
	// a loopback or LAN link would wait a second for every loss.
	MinRTO = 20 * time.Millisecond
	MaxRTO = 60 * time.Second
	// dupThreshold is how many later messages must be acknowledged before
	// an earlier one may be taken as lost before its timeout: QUIC's
	// packet threshold (RFC 9002, kPacketThreshold). Reordering is what
	// the time threshold (lossDelay) is for; this keeps one stray ACK from
	// condemning a message.
	dupThreshold = 3
	// maxBackoff caps the growth of a message's timeout, without
	// cfg.MaxRTO, at 2^maxBackoff RTOs.
	maxBackoff = 6
	// paceBurst is how many first transmissions may go back to back before
	// pacing spaces them: a burst a receiver's socket buffer takes whole
	// (Linux's default, 208 KiB, holds 16 full 4 KiB datagrams three times
	// over), so that a quiet session's next message goes at once.
	paceBurst = 16
	// MaxPaceInterval caps the space pacing puts between two first
	// transmissions, whatever the round trip: pacing is there to spread a
	// burst, and a message never waits longer than this for it.
	MaxPaceInterval = MinRTO
)

func init() { core.Reliabilities.Register(Name, Layer{}) }

// Layer builds sliding-window senders and receivers.
type Layer struct{}

var _ core.Reliability = Layer{}

// Name returns "window".
func (Layer) Name() string { return Name }

func withDefaults(cfg core.ReliabilityConfig) core.ReliabilityConfig {
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.RTO <= 0 {
		cfg.RTO = time.Second
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 5
	}
	return cfg
}

// NewSender returns a sender with cfg's window, queue and retries; cfg.RTO is
// the timeout until the first round trip is measured. With cfg.Persist it
// never gives up on a message. Each message's timeout grows on its own with
// each retransmission on its timeout: by half while the peer acknowledges
// anything (a loss, not an outage), doubling while it acknowledges nothing;
// with cfg.MaxRTO no timeout exceeds max(cfg.MaxRTO, cfg.RTO), without it
// none exceeds 2^6 RTOs. A persisting sender still keeps at most cfg.Window
// in flight.
func (Layer) NewSender(cfg core.ReliabilityConfig) core.Sender {
	cfg = withDefaults(cfg)
	return &Sender{cfg: cfg, rto: clamp(cfg.RTO), maxInFlight: cfg.Window}
}

// NewReceiver returns a receiver that holds back messages that arrive ahead
// of a gap, up to max(cfg.Window, MinReceiveWindow) past it.
func (Layer) NewReceiver(cfg core.ReliabilityConfig) core.Receiver {
	cfg = withDefaults(cfg)
	return &Receiver{window: uint64(max(cfg.Window, MinReceiveWindow)), held: make(map[uint64]any)}
}

type item struct {
	seq      uint64
	datagram []byte
	ref      any
	sentAt   time.Time     // the last transmission
	sentNo   uint64        // its place in the order of all transmissions
	wait     time.Duration // how long it waits for an ACK after sentAt
	deadline time.Time     // sentAt + wait: when it is sent again if not acknowledged
	tries    int           // transmissions so far
	sacked   bool          // the receiver has it, maybe not yet in order
	// rewatched: it was acknowledged, then watched again for want of a
	// cumulative ACK (Poll), so an ACK of it now may be a late copy of
	// that one, no measure of a round trip.
	rewatched bool
	skips     int // later messages acknowledged while this one was not
}

// Sender keeps up to Window messages in flight and the rest in a bounded
// queue.
type Sender struct {
	cfg    core.ReliabilityConfig
	next   uint64
	queue  []*item
	flight []*item // in seq order; the front is the oldest not yet delivered
	srtt   time.Duration
	rttvar time.Duration
	hasRTT bool
	rto    time.Duration // the timeout after a first transmission
	sentNo uint64        // transmissions so far, to order them
	// ackedNo is the latest transmission (sentNo) of a message the peer
	// has acknowledged: one sent before it and not acknowledged was
	// overtaken (RACK's most recently delivered packet).
	ackedNo uint64
	// heard is when the peer last acknowledged anything in flight: a
	// message that times out after it was lost on a path that works.
	heard time.Time
	// Pacing schedules first transmissions (GCRA, a virtual token
	// bucket): tat is when the next would go at the paced rate, paceAt
	// the earliest it may go, the burst allowance before tat.
	tat, paceAt time.Time
	// maxInFlight is how many messages may be in flight: the configured
	// window, or the receiver's last advertised one (core.Ack) if
	// smaller, taken from the ACK with the highest cumulative part
	// (windowCum); one at least, so that a receiver that advertised zero
	// still gets a DATA, whose ACK brings its next advertisement (KCP
	// probes a zero window instead).
	maxInFlight int
	windowCum   uint64
	// due is when something in flight next needs Poll's attention, as its
	// last scan of the flight found; zero when unknown. Only an ACK changes
	// what is due, so until one comes Poll need not look at the flight
	// again: a server polls every recipient's sender for every message, and
	// the scan was a seventh of its time.
	due time.Time
	// What Ack and Poll return, reused, as core.Sender allows.
	acked []any
	send  []core.Transmission
}

var (
	_ core.Sender = (*Sender)(nil)
	_ core.Flow   = (*Sender)(nil)
)

// Push implements core.Sender.
func (s *Sender) Push(build func(seq uint64) ([]byte, error), ref any) (uint64, error) {
	if s.Pending() >= s.cfg.Queue {
		return 0, core.ErrQueueFull
	}
	seq := s.next
	dg, err := build(seq)
	if err != nil {
		return 0, err
	}
	s.next++
	s.queue = append(s.queue, &item{seq: seq, datagram: dg, ref: ref})
	return seq, nil
}

// find returns the place in flight of the message with seq, and the
// message, or nil if none is in flight.
func (s *Sender) find(seq uint64) (int, *item) {
	i := sort.Search(len(s.flight), func(i int) bool { return s.flight[i].seq >= seq })
	if i < len(s.flight) && s.flight[i].seq == seq {
		return i, s.flight[i]
	}
	return i, nil
}

// Ack implements core.Sender. A selective acknowledgement (Seq) only stops
// retransmission: the receiver may be holding the message behind a gap, and
// only the cumulative acknowledgement (Cum) says it was handed on, so only
// that makes a message delivered. A stale or forged ACK changes nothing that
// a true one would not.
func (s *Sender) Ack(a core.Ack, now time.Time) []any {
	s.due = time.Time{}
	if i, it := s.find(a.Seq); it != nil {
		s.heard = now
		if !it.sacked {
			it.sacked = true
			if it.tries == 1 && !it.rewatched {
				// Karn: only a message sent once gives an unambiguous sample.
				s.sample(now.Sub(it.sentAt))
			}
			s.ackedNo = max(s.ackedNo, it.sentNo)
			for _, o := range s.flight[:i] {
				// Only a message sent after this one's last transmission
				// is evidence against it (RFC 9002 6.1): otherwise a
				// resent message would be resent again on every ACK of
				// the window behind it.
				if !o.sacked && o.sentNo < it.sentNo {
					o.skips++
				}
			}
		}
	}
	if a.HasWindow && a.HasCum && a.Cum >= s.windowCum {
		// A later ACK's window, not a stale (or replayed) one's.
		s.maxInFlight, s.windowCum = max(1, int(min(a.Window, uint32(s.cfg.Window)))), a.Cum
	}
	if !a.HasCum {
		// A peer that says nothing cumulative acknowledges what it names.
		a.Cum, a.HasCum = 0, true
		if len(s.flight) > 0 && s.flight[0].seq == a.Seq {
			a.Cum = a.Seq + 1
		}
	}
	delivered := s.acked[:0]
	for len(s.flight) > 0 && s.flight[0].seq < a.Cum {
		s.heard = now
		s.ackedNo = max(s.ackedNo, s.flight[0].sentNo)
		delivered = append(delivered, s.flight[0].ref)
		s.flight[0] = nil
		s.flight = s.flight[1:]
	}
	s.acked = delivered
	if len(delivered) > 0 {
		// The last Poll's result may still point at their datagrams:
		// an idle session would keep its last DATA for good.
		clear(s.send[:cap(s.send)])
	}
	return delivered
}

// sample folds a round-trip time into the timeout, as RFC 6298 section 2,
// but for its floor: the RTO is at least the time after which an
// overtaken message is taken as lost (lossDelay). RFC 6298's variance term
// alone, a mean deviation, dips below the spread of a steady path's jitter
// now and then, and each dip timed out messages that were only late.
func (s *Sender) sample(r time.Duration) {
	if !s.hasRTT {
		s.srtt, s.rttvar, s.hasRTT = r, r/2, true
	} else {
		d := s.srtt - r
		if d < 0 {
			d = -d
		}
		s.rttvar = (3*s.rttvar + d) / 4
		s.srtt = (7*s.srtt + r) / 8
	}
	s.rto = clamp(s.srtt + max(4*s.rttvar, s.srtt/4, time.Millisecond))
}

// lossDelay is how long after its sending a message overtaken by later
// ones is taken as lost: a round trip and a quarter, RACK's reordering
// window, so that a network that reorders does not cause retransmissions.
// Shorter waits, down to 9/8 of a round trip (QUIC's), moved more messages
// through the simulated path of sim_test.go, whose round trips vary by a
// third, but only by sending more again that had arrived.
func (s *Sender) lossDelay() time.Duration {
	if !s.hasRTT {
		return 0
	}
	return s.srtt + s.srtt/4
}

func clamp(d time.Duration) time.Duration { return min(max(d, MinRTO), MaxRTO) }

// limit is the longest a message's timeout grows to: max(cfg.MaxRTO,
// cfg.RTO) with cfg.MaxRTO (core.ReliabilityConfig.Backoff), otherwise
// 2^maxBackoff RTOs.
func (s *Sender) limit() time.Duration {
	if s.cfg.MaxRTO > 0 {
		return max(s.cfg.MaxRTO, s.cfg.RTO)
	}
	return clamp(s.rto << maxBackoff)
}

// firstWait is the timeout after a first transmission.
func (s *Sender) firstWait() time.Duration { return min(s.rto, s.limit()) }

// grow is the timeout after a retransmission of it on its timeout: half as
// long again as the last while the peer has acknowledged anything since
// it was sent (an isolated loss: KCP's turbo mode; doubling there slowed
// the repair of a message lost twice, on which the whole window waits),
// twice as long while it has acknowledged nothing (an outage: RFC 6298
// 5.5, so that a silent path is not flooded), up to limit.
func (s *Sender) grow(it *item) time.Duration {
	w := max(it.wait, s.firstWait())
	if s.heard.After(it.sentAt) {
		w += w / 2
	} else {
		w *= 2
	}
	return min(w, s.limit())
}

// Poll implements core.Sender.
func (s *Sender) Poll(now time.Time) (send []core.Transmission, failed []any, next time.Time) {
	send = s.send[:0]
	defer func() { s.send = send }()
	if !s.due.IsZero() && now.Before(s.due) {
		send = s.sendQueued(send, now)
		return send, nil, s.wake()
	}
	kept := s.flight[:0]
	for _, it := range s.flight {
		switch {
		case it.sacked:
		case s.overtaken(it) && !now.Before(it.sentAt.Add(s.lossDelay())):
			// Fast retransmit: later messages got through, and so
			// much time has passed that this one is lost, not just
			// overtaken (RACK, RFC 8985). Its timeout does not grow:
			// the path works.
			send = s.resend(send, it, now, max(it.wait, s.firstWait()))
		case !now.Before(it.deadline):
			if it.tries > s.cfg.MaxRetries && !s.cfg.Persist {
				failed = append(failed, it.ref)
				continue
			}
			send = s.resend(send, it, now, s.grow(it))
		}
		kept = append(kept, it)
	}
	clear(s.flight[len(kept):])
	s.flight = kept
	s.due = time.Time{}
	send = s.sendQueued(send, now)
	for _, it := range s.flight {
		if it.sacked {
			continue
		}
		due := it.deadline
		if s.overtaken(it) {
			// Whichever comes first: Poll resends it at either.
			due = minTime(due, it.sentAt.Add(s.lossDelay()))
		}
		if s.due.IsZero() || due.Before(s.due) {
			s.due = due
		}
	}
	if s.due.IsZero() && len(s.flight) > 0 {
		// All sent are held by the receiver: wait for its cumulative
		// ACK, and send the oldest again after a timeout in case that
		// was lost.
		front := s.flight[0]
		front.sacked, front.rewatched, front.deadline = false, true, now.Add(s.firstWait())
		s.due = front.deadline
	}
	return send, failed, s.wake()
}

// wake is when Poll wants to be called again: when something in flight is
// due, or when pacing lets the next queued message go, whichever is first.
func (s *Sender) wake() time.Time {
	if len(s.queue) > 0 && len(s.flight) < s.maxInFlight && (s.due.IsZero() || s.paceAt.Before(s.due)) {
		return s.paceAt
	}
	return s.due
}

// sendQueued moves queued messages into flight while the window has room
// and pacing allows, and appends their first transmissions to send.
func (s *Sender) sendQueued(send []core.Transmission, now time.Time) []core.Transmission {
	for len(s.flight) < s.maxInFlight && len(s.queue) > 0 && !now.Before(s.paceAt) {
		it := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.pace(now)
		it.tries = 1
		s.transmit(it, now, s.firstWait())
		s.flight = append(s.flight, it)
		send = append(send, core.Transmission{Datagram: it.datagram, Ref: it.ref, Attempt: 1})
		if !s.due.IsZero() && it.deadline.Before(s.due) {
			s.due = it.deadline
		}
	}
	return send
}

// pace accounts for a first transmission at now. The window goes out at
// 5/4 of the rate at which it is acknowledged (window/srtt), spread over
// most of a round trip instead of landing on the receiver's socket at
// once, after a burst of paceBurst; the next may go one interval after
// now at the latest.
func (s *Sender) pace(now time.Time) {
	// Until a round trip is measured, the one the initial RTO implies:
	// RFC 6298 sets the RTO to three times the first sample.
	rtt := s.rto / 3
	if s.hasRTT {
		rtt = s.srtt
	}
	interval := min(rtt*4/time.Duration(5*s.cfg.Window), MaxPaceInterval)
	s.tat = s.tat.Add(interval)
	if s.tat.Before(now.Add(interval)) {
		s.tat = now.Add(interval)
	}
	if limit := now.Add(paceBurst * interval); s.tat.After(limit) {
		s.tat = limit // the interval shrank: what was owed at the old rate is not owed now
	}
	s.paceAt = s.tat.Add(-(paceBurst - 1) * interval)
}

// overtaken reports whether it has the evidence of loss to be sent again
// before its timeout: later messages (sent after its last transmission)
// were acknowledged. Its retries still bound it, even with cfg.Persist,
// or a peer that acknowledges later messages could have it sent as fast
// as it likes: past them only the timeout sends it again.
func (s *Sender) overtaken(it *item) bool {
	return it.sentNo < s.ackedNo && it.skips >= dupThreshold && it.tries <= s.cfg.MaxRetries
}

// transmit records a transmission of it at now, after which it waits wait.
func (s *Sender) transmit(it *item, now time.Time, wait time.Duration) {
	it.sentAt, it.wait, it.deadline = now, wait, now.Add(wait)
	s.sentNo++
	it.sentNo = s.sentNo
	// Evidence against an earlier transmission says nothing about this one.
	it.skips = 0
}

// resend sends it again. A message in the older half of the window, lost
// while the peer answers, goes twice: the receiver hands on nothing behind
// it, so a second loss would hold up the window for another round trip
// and a quarter, and a copy costs one datagram. Through the simulated path
// at 20% loss each way that moved a third more messages a second and sent
// fewer datagrams for each (the ACKs of messages held behind a gap, which
// receivers now send twice, save more than the copies cost); copies of
// every retransmission moved a sixth more again, but sent more than the
// layer did before. A silent peer gets one copy: nothing says the path
// loses rather than is down.
func (s *Sender) resend(send []core.Transmission, it *item, now time.Time, wait time.Duration) []core.Transmission {
	copies := 1
	if s.heard.After(it.sentAt) && 2*(it.seq-s.flight[0].seq) < uint64(s.cfg.Window) &&
		(s.cfg.Persist || it.tries+2 <= 1+s.cfg.MaxRetries) {
		copies = 2
	}
	s.transmit(it, now, wait)
	for range copies {
		it.tries++
		send = append(send, core.Transmission{Datagram: it.datagram, Ref: it.ref, Attempt: it.tries})
	}
	return send
}

// Pending implements core.Sender.
func (s *Sender) Pending() int { return len(s.queue) + len(s.flight) }

// CanSend implements core.Flow: while nothing is queued and the window has
// room. Pacing may still hold the message for up to MaxPaceInterval;
// Poll's next says until when.
func (s *Sender) CanSend() bool { return len(s.queue) == 0 && len(s.flight) < s.maxInFlight }

// Drain implements core.Sender.
func (s *Sender) Drain() []any {
	var refs []any
	for _, it := range s.flight {
		refs = append(refs, it.ref)
	}
	for _, it := range s.queue {
		refs = append(refs, it.ref)
	}
	s.flight, s.queue, s.due = nil, nil, time.Time{}
	return refs
}

// RTO is the timeout of a message sent now for the first time.
func (s *Sender) RTO() time.Duration { return s.firstWait() }

// Receiver delivers in order, holding back up to a window of messages that
// arrive ahead of a gap; beyond the window it takes nothing, so a peer cannot
// make it hold more.
//
// The window is max(cfg.Window, MinReceiveWindow), and the peer decides what
// fills it: at most window-1 messages held, each what the engine made of
// one datagram of at most core.MaxDatagram (4 KiB), so about 512 KiB a
// session at the default, however the peer behaves.
type Receiver struct {
	window   uint64
	expected uint64
	held     map[uint64]any
	ready    []any // what Accept returns, reused
}

var (
	_ core.Receiver      = (*Receiver)(nil)
	_ core.ReceiveWindow = (*Receiver)(nil)
)

// Classify implements core.Receiver.
func (r *Receiver) Classify(seq uint64) core.Arrival {
	if seq < r.expected {
		return core.ArrivalDuplicate
	}
	if seq-r.expected >= r.window {
		return core.ArrivalOutOfOrder
	}
	if _, ok := r.held[seq]; ok {
		return core.ArrivalDuplicate
	}
	return core.ArrivalNew
}

// Accept implements core.Receiver.
func (r *Receiver) Accept(seq uint64, v any) []any {
	if r.Classify(seq) != core.ArrivalNew {
		return nil
	}
	if seq != r.expected {
		r.held[seq] = v
		return nil
	}
	r.ready = append(r.ready[:0], v)
	r.expected++
	for {
		w, ok := r.held[r.expected]
		if !ok {
			return r.ready
		}
		delete(r.held, r.expected)
		r.ready = append(r.ready, w)
		r.expected++
	}
}

// Cumulative implements core.Receiver.
func (r *Receiver) Cumulative() uint64 { return r.expected }

// Window implements core.ReceiveWindow: max(cfg.Window, MinReceiveWindow).
func (r *Receiver) Window() int { return int(r.window) }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
