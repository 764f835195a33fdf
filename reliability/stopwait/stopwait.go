// Package stopwait is the seed's reliability layer: one DATA in flight at a
// time, sent again after a timeout (the seed: 2 s), given up on after a number
// of retries (the seed: 5), and a receiver that takes only the next sequence
// number. Told to persist (core.ReliabilityConfig), it never gives up, and
// backs its timeout off up to a cap. It is udpchat's default, and the only layer a seed peer speaks.
package stopwait

import (
	"time"

	"github.com/udpchat/udpchat/core"
)

// Name is the name the layer is registered under.
const Name = "stop-and-wait"

// Defaults from the seed.
const (
	DefaultRTO        = 2 * time.Second
	DefaultMaxRetries = 5
	DefaultQueue      = 64
)

func init() { core.Reliabilities.Register(Name, Layer{}) }

// Layer builds stop-and-wait senders and receivers.
type Layer struct{}

var _ core.Reliability = Layer{}

// Name returns "stop-and-wait".
func (Layer) Name() string { return Name }

// NewSender returns a sender with cfg's timeout, retries and queue bound; zero
// values take the seed's defaults. With cfg.Persist it never gives up on the
// message in flight, and with cfg.MaxRTO its timeout doubles on each
// retransmission up to that cap (core.ReliabilityConfig.Backoff).
func (Layer) NewSender(cfg core.ReliabilityConfig) core.Sender {
	if cfg.RTO <= 0 {
		cfg.RTO = DefaultRTO
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	return &Sender{cfg: cfg}
}

// NewReceiver returns a receiver that expects sequence number 0 first.
func (Layer) NewReceiver(core.ReliabilityConfig) core.Receiver { return &Receiver{} }

type item struct {
	seq      uint64
	datagram []byte
	ref      any
}

// keptQueue is the largest queue array an emptied queue keeps for reuse.
const keptQueue = 4

// Sender keeps one message in flight and the rest in a bounded queue.
type Sender struct {
	cfg  core.ReliabilityConfig
	next uint64
	// queue[head:] waits, oldest first. Popping moves head rather than
	// slicing off the front, which would give up the array's capacity
	// and make a mostly idle sender allocate a queue for every message.
	queue    []item
	head     int
	inflight item
	busy     bool // inflight holds a message
	sentAt   time.Time
	tries    int // transmissions of the message in flight

	// What Ack and Poll return, reused: they run for every DATA a server
	// sends, and core.Sender lets their results live until the next call.
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
	if s.head > 0 && len(s.queue) == cap(s.queue) {
		n := copy(s.queue, s.queue[s.head:]) // reuse the space popped
		clear(s.queue[n:])
		s.queue, s.head = s.queue[:n], 0
	}
	s.queue = append(s.queue, item{seq: seq, datagram: dg, ref: ref})
	return seq, nil
}

// Ack implements core.Sender. Only the message in flight can be acknowledged;
// a stale or forged ack_seq changes nothing.
func (s *Sender) Ack(ack core.Ack, _ time.Time) []any {
	if !s.busy || s.inflight.seq != ack.Seq && !(ack.HasCum && s.inflight.seq < ack.Cum) {
		return nil
	}
	s.acked = append(s.acked[:0], s.inflight.ref)
	s.inflight, s.busy = item{}, false
	// The last Poll's result still points at the datagram: an idle
	// session would keep its last DATA, most of its memory, for good.
	clear(s.send[:cap(s.send)])
	return s.acked
}

// Poll implements core.Sender.
func (s *Sender) Poll(now time.Time) (send []core.Transmission, failed []any, next time.Time) {
	send = s.send[:0]
	for {
		if !s.busy {
			if s.head == len(s.queue) {
				return send, failed, time.Time{}
			}
			it := s.queue[s.head]
			s.queue[s.head] = item{}
			if s.head++; s.head == len(s.queue) {
				s.queue, s.head = s.queue[:0], 0
				if cap(s.queue) > keptQueue {
					s.queue = nil // a burst's array, not kept by an idle session
				}
			}
			s.inflight, s.busy, s.sentAt, s.tries = it, true, now, 1
			s.send = append(send, core.Transmission{Datagram: it.datagram, Ref: it.ref, Attempt: 1})
			return s.send, failed, now.Add(s.cfg.RTO)
		}
		deadline := s.sentAt.Add(s.cfg.Backoff(s.cfg.RTO, s.tries))
		if now.Before(deadline) {
			return send, failed, deadline
		}
		if s.tries > s.cfg.MaxRetries && !s.cfg.Persist {
			failed = append(failed, s.inflight.ref)
			s.inflight, s.busy = item{}, false
			continue
		}
		s.sentAt = now
		s.tries++
		s.send = append(send, core.Transmission{Datagram: s.inflight.datagram, Ref: s.inflight.ref, Attempt: s.tries})
		return s.send, failed, now.Add(s.cfg.Backoff(s.cfg.RTO, s.tries))
	}
}

// CanSend implements core.Flow: only while nothing is queued or in flight.
func (s *Sender) CanSend() bool { return !s.busy && s.head == len(s.queue) }

// Pending implements core.Sender.
func (s *Sender) Pending() int {
	n := len(s.queue) - s.head
	if s.busy {
		n++
	}
	return n
}

// Receiver takes sequence numbers strictly in order from 0.
type Receiver struct {
	expected uint64
	ready    []any // what Accept returns, reused
}

var (
	_ core.Receiver      = (*Receiver)(nil)
	_ core.ReceiveWindow = (*Receiver)(nil)
)

// Classify implements core.Receiver.
func (r *Receiver) Classify(seq uint64) core.Arrival {
	switch {
	case seq == r.expected:
		return core.ArrivalNew
	case seq < r.expected:
		return core.ArrivalDuplicate
	default:
		return core.ArrivalOutOfOrder
	}
}

// Accept implements core.Receiver: only the next seq is taken, so it is
// ready at once.
func (r *Receiver) Accept(seq uint64, v any) []any {
	if seq != r.expected {
		return nil
	}
	r.expected++
	r.ready = append(r.ready[:0], v)
	return r.ready
}

// Cumulative implements core.Receiver.
func (r *Receiver) Cumulative() uint64 { return r.expected }

// Window implements core.ReceiveWindow: only the next seq is taken.
func (r *Receiver) Window() int { return 1 }

// Drain implements core.Sender.
func (s *Sender) Drain() []any {
	var refs []any
	if s.busy {
		refs = append(refs, s.inflight.ref)
		s.inflight, s.busy = item{}, false
	}
	for _, it := range s.queue[s.head:] {
		refs = append(refs, it.ref)
	}
	s.queue, s.head = nil, 0
	return refs
}
