// Package window is a sliding-window reliability layer: selective repeat,
// with many messages in flight, cumulative and selective acknowledgements,
// fast retransmit on evidence of loss, and a retransmission timeout computed
// from the measured round-trip time as RFC 6298 specifies, with exponential
// backoff. KCP and QUIC's loss detection (RFC 9002) are its models.
//
// Version 2 peers may use it in either direction without negotiating it: its
// ACKs say what stop-and-wait's say, and it reads theirs. Version 1 sessions
// always use stop-and-wait, the only layer a seed peer speaks.
package window

import (
	"time"

	"github.com/udpchat/udpchat/core"
)

// Name is the name the layer is registered under.
const Name = "window"

// Defaults and bounds.
const (
	DefaultWindow = 64
	DefaultQueue  = 1024
	// MinRTO and MaxRTO bound the timeout. RFC 6298 says 1 s at least,
	// written for the Internet of 2000; like QUIC and KCP we go lower, or
	// a loopback or LAN link would wait a second for every loss.
	MinRTO = 20 * time.Millisecond
	MaxRTO = 60 * time.Second
	// dupThreshold is how many later messages must be acknowledged before
	// an earlier one is taken as lost without waiting for its timeout: QUIC's
	// packet threshold (RFC 9002, kPacketThreshold).
	dupThreshold = 3
	// maxBackoff caps the exponential backoff.
	maxBackoff = 6
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
// never gives up on a message; with cfg.MaxRTO each message backs off on
// its own, from the measured RTO doubling on each retransmission, and no
// timeout exceeds max(cfg.MaxRTO, cfg.RTO). A persisting sender still keeps
// at most cfg.Window in flight.
func (Layer) NewSender(cfg core.ReliabilityConfig) core.Sender {
	cfg = withDefaults(cfg)
	return &Sender{cfg: cfg, rto: clamp(cfg.RTO)}
}

// NewReceiver returns a receiver that holds back up to cfg.Window messages
// that arrive ahead of a gap.
func (Layer) NewReceiver(cfg core.ReliabilityConfig) core.Receiver {
	cfg = withDefaults(cfg)
	return &Receiver{window: uint64(cfg.Window), held: make(map[uint64]any)}
}

type item struct {
	seq      uint64
	datagram []byte
	ref      any
	sentAt   time.Time // the last transmission
	sentNo   uint64    // its place in the order of all transmissions
	deadline time.Time // when it is sent again if not acknowledged
	tries    int       // transmissions so far
	sacked   bool      // the receiver has it, maybe not yet in order
	skips    int       // later messages acknowledged while this one was not
}

// Sender keeps up to Window messages in flight and the rest in a bounded
// queue.
type Sender struct {
	cfg     core.ReliabilityConfig
	next    uint64
	queue   []*item
	flight  []*item // in seq order; the front is the oldest not yet delivered
	srtt    time.Duration
	rttvar  time.Duration
	hasRTT  bool
	rto     time.Duration
	backoff int
	sentNo  uint64 // transmissions so far, to order them
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

// Ack implements core.Sender. A selective acknowledgement (Seq) only stops
// retransmission: the receiver may be holding the message behind a gap, and
// only the cumulative acknowledgement (Cum) says it was handed on, so only
// that makes a message delivered. A stale or forged ACK changes nothing that
// a true one would not.
func (s *Sender) Ack(a core.Ack, now time.Time) []any {
	s.due = time.Time{}
	var ackedSent uint64 // the acknowledged message's last transmission
	for _, it := range s.flight {
		if it.seq == a.Seq && !it.sacked {
			it.sacked, ackedSent = true, it.sentNo
			if it.tries == 1 {
				// Karn: only a message sent once gives an unambiguous sample.
				s.sample(now.Sub(it.sentAt))
			}
			s.backoff = 0
		}
	}
	if !a.HasCum {
		// A peer that says nothing cumulative acknowledges what it names.
		a.Cum, a.HasCum = 0, true
		if len(s.flight) > 0 && s.flight[0].seq == a.Seq {
			a.Cum = a.Seq + 1
		}
	}
	for _, it := range s.flight {
		// Only a message sent after this one's last transmission is
		// evidence against it (RFC 9002 6.1): otherwise a resent message
		// would be resent again on every ACK of the window behind it.
		if it.seq < a.Seq && !it.sacked && ackedSent > it.sentNo {
			it.skips++
		}
	}
	delivered := s.acked[:0]
	for len(s.flight) > 0 && s.flight[0].seq < a.Cum {
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

// sample folds a round-trip time into the timeout, as RFC 6298 section 2.
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
	s.rto = clamp(s.srtt + max(4*s.rttvar, time.Millisecond))
}

// reorderWait is how long after its sending a message overtaken by three
// later ones is taken as lost: a round trip and a quarter, RACK's reordering
// window, so that a network that reorders does not cause retransmissions.
func (s *Sender) reorderWait() time.Duration {
	if !s.hasRTT {
		return 0
	}
	return s.srtt + s.srtt/4
}

func clamp(d time.Duration) time.Duration { return min(max(d, MinRTO), MaxRTO) }

// timeout is the wait after a first transmission. With cfg.MaxRTO the
// backoff is each message's own (wait) and the timeout is capped by it;
// without, it is the sender's, as RFC 6298 says.
func (s *Sender) timeout() time.Duration {
	if s.cfg.MaxRTO > 0 {
		return s.cfg.Backoff(s.rto, 1)
	}
	return clamp(s.rto << s.backoff)
}

// wait is how long it waits for an ACK after its last transmission: with
// cfg.MaxRTO, the RTO doubled for each retransmission up to the cap
// (core.ReliabilityConfig.Backoff); without, the sender's timeout.
func (s *Sender) wait(it *item) time.Duration {
	if s.cfg.MaxRTO > 0 {
		return s.cfg.Backoff(s.rto, it.tries)
	}
	return s.timeout()
}

// Poll implements core.Sender.
func (s *Sender) Poll(now time.Time) (send []core.Transmission, failed []any, next time.Time) {
	send = s.send[:0]
	defer func() { s.send = send }()
	if !s.due.IsZero() && now.Before(s.due) {
		send = s.sendQueued(send, now)
		return send, nil, s.due
	}
	timedOut := false
	kept := s.flight[:0]
	for _, it := range s.flight {
		switch {
		case it.sacked:
		case s.fastRetransmit(it) && !now.Before(it.sentAt.Add(s.reorderWait())):
			// Fast retransmit: three later messages got through, and so
			// much time has passed that this one is lost, not just
			// overtaken (RACK, RFC 8985).
			send = s.resend(send, it, now)
		case !now.Before(it.deadline):
			if it.tries > s.cfg.MaxRetries && !s.cfg.Persist {
				failed = append(failed, it.ref)
				continue
			}
			timedOut = true
			send = s.resend(send, it, now)
		}
		kept = append(kept, it)
	}
	clear(s.flight[len(kept):])
	s.flight = kept
	if timedOut && s.backoff < maxBackoff {
		s.backoff++ // RFC 6298 5.5: back off the timer
	}
	s.due = time.Time{}
	send = s.sendQueued(send, now)
	for _, it := range s.flight {
		due := it.deadline
		if s.fastRetransmit(it) {
			// Whichever comes first: Poll resends it at either.
			due = minTime(due, it.sentAt.Add(s.reorderWait()))
		}
		if !it.sacked && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	if next.IsZero() && len(s.flight) > 0 {
		// All sent are held by the receiver; wait for its cumulative ACK,
		// and look again after a timeout in case it was lost.
		next = now.Add(s.timeout())
		for _, it := range s.flight {
			it.deadline = next
			it.sacked = false
		}
	}
	s.due = next
	return send, failed, next
}

// sendQueued moves queued messages into flight while the window has room,
// and appends their first transmissions to send.
func (s *Sender) sendQueued(send []core.Transmission, now time.Time) []core.Transmission {
	for len(s.flight) < s.cfg.Window && len(s.queue) > 0 {
		it := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		it.sentAt, it.tries = now, 1
		s.sentNo++
		it.sentNo = s.sentNo
		it.deadline = now.Add(s.wait(it))
		s.flight = append(s.flight, it)
		send = append(send, core.Transmission{Datagram: it.datagram, Ref: it.ref, Attempt: 1})
		if !s.due.IsZero() && it.deadline.Before(s.due) {
			s.due = it.deadline
		}
	}
	return send
}

// fastRetransmit reports whether it has the evidence of loss to be sent
// again before its timeout. Its retries still bound it, even with
// cfg.Persist, or a peer that acknowledges later messages could have it
// sent as fast as it likes: past them only the timeout sends it again.
func (s *Sender) fastRetransmit(it *item) bool {
	return it.skips >= dupThreshold && it.tries <= s.cfg.MaxRetries
}

func (s *Sender) resend(send []core.Transmission, it *item, now time.Time) []core.Transmission {
	// Evidence against an earlier transmission says nothing about this one.
	it.skips = 0
	it.tries++
	it.sentAt = now
	s.sentNo++
	it.sentNo = s.sentNo
	it.deadline = now.Add(s.wait(it))
	return append(send, core.Transmission{Datagram: it.datagram, Ref: it.ref, Attempt: it.tries})
}

// Pending implements core.Sender.
func (s *Sender) Pending() int { return len(s.queue) + len(s.flight) }

// CanSend implements core.Flow: while nothing is queued and the window has
// room.
func (s *Sender) CanSend() bool { return len(s.queue) == 0 && len(s.flight) < s.cfg.Window }

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

// RTO is the current retransmission timeout, backoff included.
func (s *Sender) RTO() time.Duration { return s.timeout() }

// Receiver delivers in order, holding back up to a window of messages that
// arrive ahead of a gap; beyond the window it takes nothing, so a peer cannot
// make it hold more.
type Receiver struct {
	window   uint64
	expected uint64
	held     map[uint64]any
	ready    []any // what Accept returns, reused
}

var _ core.Receiver = (*Receiver)(nil)

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

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
