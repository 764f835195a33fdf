package core

import (
	"encoding/binary"
	"errors"
	"time"
)

// Reliability is a reliability layer: how one direction of a session numbers,
// acknowledges and retransmits its DATA packets. Its Senders and Receivers are
// plain state machines that never start goroutines or read the clock; the
// engine drives them, which makes them testable step by step.
type Reliability interface {
	// Name is the name the layer is registered and configured under.
	Name() string
	// NewSender returns the sending side of one direction of a session.
	NewSender(cfg ReliabilityConfig) Sender
	// NewReceiver returns the receiving side of one direction of a session.
	NewReceiver(cfg ReliabilityConfig) Receiver
}

// ReliabilityConfig tunes a reliability layer.
type ReliabilityConfig struct {
	// RTO is the retransmission timeout. The seed waits 2 s.
	RTO time.Duration
	// MaxRetries is how many times a DATA is sent again before the sender gives
	// up on it. The seed retries 5 times.
	MaxRetries int
	// Queue bounds the messages waiting to be sent.
	Queue int
	// Window bounds the messages in flight at once, and the messages a
	// receiver holds back waiting for a gap to fill. Stop-and-wait's is 1,
	// whatever this says.
	Window int
	// Persist makes a Sender never give up on a message: it sends it again
	// until it is acknowledged or Drained, however many times, and MaxRetries
	// no longer bounds its transmissions (a layer may still use MaxRetries
	// to bound other things, such as the window layer's fast retransmits).
	// Poll then never returns a failed ref. The server's senders persist,
	// and give up on a silent peer instead (its idle timeout); false is the
	// seed's behaviour.
	Persist bool
	// MaxRTO, when positive, backs off the retransmission timeout of each
	// message: after its first transmission the Sender waits the RTO, after
	// each retransmission twice as long as before, but never longer than
	// max(MaxRTO, RTO); see Backoff. A layer may grow it more gently while
	// the peer acknowledges other messages, a loss and not an outage (the
	// window layer: by half). Zero is the layer's own behaviour:
	// stop-and-wait's fixed RTO (the seed's), the window layer's growth
	// up to 2^6 RTOs.
	MaxRTO time.Duration
}

// Backoff is how long a Sender waits for an ACK after the sent-th
// transmission of a message (1 is the first), rto being its timeout before
// any backoff, when MaxRTO is positive: rto·2^(sent-1), at most
// max(MaxRTO, RTO). With MaxRTO zero it is rto.
func (c ReliabilityConfig) Backoff(rto time.Duration, sent int) time.Duration {
	if c.MaxRTO <= 0 {
		return rto
	}
	limit := max(c.MaxRTO, c.RTO)
	for ; sent > 1 && rto > 0 && rto < limit; sent-- {
		if rto > limit/2 {
			return limit
		}
		rto *= 2
	}
	return min(rto, limit)
}

// Ack is what an acknowledgement says.
type Ack struct {
	// Seq is the DATA this ACK answers: the seed's ack_seq.
	Seq uint64
	// Cum, when HasCum, says that every seq below it has arrived as well,
	// so that one ACK that gets through makes up for others lost.
	Cum    uint64
	HasCum bool
	// Window, when HasWindow, is the receiver's advertised window: how
	// many DATA, from Cum on, it takes now. A Sender that keeps several
	// in flight keeps no more than that (one at least, so that the
	// receiver's ACKs, and its next advertisement, keep coming).
	Window    uint32
	HasWindow bool
}

// WindowAdvertLen is the length of a window advertisement, the sealed
// plaintext of a version 2 client's ACK (docs/PROTOCOL.md, "Reliable
// delivery both ways"): the window, a big-endian uint32.
const WindowAdvertLen = 4

// AppendWindowAdvert appends the advertisement of window n to dst.
func AppendWindowAdvert(dst []byte, n uint32) []byte {
	return binary.BigEndian.AppendUint32(dst, n)
}

// ParseWindowAdvert reads the window an ACK's plaintext advertises. Any
// other plaintext advertises nothing: an older client's is empty, and a
// later version may say more.
func ParseWindowAdvert(plain []byte) (n uint32, ok bool) {
	if len(plain) != WindowAdvertLen {
		return 0, false
	}
	return binary.BigEndian.Uint32(plain), true
}

// ReceiveWindow is implemented by a Receiver that can say how many DATA,
// from its cumulative point on, it takes: what a receiver advertises,
// less what its application has yet to read.
type ReceiveWindow interface {
	Window() int
}

// AckCopies is how many times a receiver sends the ACK of seq whose
// cumulative part is cum: twice when cum does not cover seq, a DATA held
// behind a gap (or one not yet judged), since that ACK is the only word
// of it its sender gets until the gap fills, and a lost one costs a whole
// DATA sent again; once otherwise, when any later ACK says the same. The
// copies are the same datagram.
func AckCopies(seq, cum uint64) int {
	if cum <= seq {
		return 2
	}
	return 1
}

// ErrQueueFull is returned by Sender.Push when the send queue is full.
var ErrQueueFull = errors.New("send queue full")

// Sender is the sending side of one direction of a session.
type Sender interface {
	// Push queues a message and returns its sequence number. build is called
	// once, at once, with that number, to produce the datagram (sealed and
	// encoded); the Sender keeps the datagram for retransmission and hands ref
	// back when the message is acknowledged or given up on.
	Push(build func(seq uint64) ([]byte, error), ref any) (uint64, error)
	// Ack processes an acknowledgement and returns the refs of the messages it
	// newly acknowledges. The slices Ack and Poll return may be the Sender's
	// own, reused: they are valid until its next call.
	Ack(ack Ack, now time.Time) (acked []any)
	// Poll returns the datagrams due to be sent at now, the refs of the messages
	// given up on (never any with Persist), and when Poll wants to be called
	// again (zero when nothing is pending; with MaxRTO positive, never later
	// than max(MaxRTO, RTO) after now).
	Poll(now time.Time) (send []Transmission, failed []any, next time.Time)
	// Pending is the number of messages queued or unacknowledged.
	Pending() int
	// Drain removes every message queued or unacknowledged and returns their
	// refs in order, for a session that ends before they are delivered.
	Drain() []any
}

// Flow is implemented by a Sender that can say whether it has room to send:
// the server holds the messages for a recipient whose Sender has none and
// sends them as one bundle (see Bundler) when it has.
type Flow interface {
	// CanSend reports whether a message pushed now would be sent by the
	// next Poll, rather than wait for acknowledgements. A layer that paces
	// may hold it a little longer; that Poll's next then says until when.
	CanSend() bool
}

// Transmission is one datagram a Sender wants sent.
type Transmission struct {
	Datagram []byte
	Ref      any
	// Attempt counts the transmissions of this message: 1 is the first, more
	// are retransmissions, which the engines log as the seed does.
	Attempt int
}

// Arrival classifies an arriving sequence number.
type Arrival uint8

const (
	// ArrivalNew is a sequence number the receiver can take: open it, and if
	// it is authentic, Accept it and acknowledge it.
	ArrivalNew Arrival = iota
	// ArrivalDuplicate was delivered already; its ACK was lost. Acknowledge it
	// again, deliver nothing.
	ArrivalDuplicate
	// ArrivalOutOfOrder cannot be taken now (beyond the window). Drop it
	// without acknowledging it.
	ArrivalOutOfOrder
)

// Receiver is the receiving side of one direction of a session.
type Receiver interface {
	// Classify says what to do with a DATA carrying seq, before it is opened.
	Classify(seq uint64) Arrival
	// Accept records that the message v with seq was authentic, and returns
	// the messages now ready for the application, in order: v and whatever
	// was held back behind it, or nothing if v must wait for a gap to fill.
	// The slice may be the Receiver's own, reused: it is valid until the
	// next Accept.
	// Its ACK may be sent once they are handed on.
	Accept(seq uint64, v any) (ready []any)
	// Cumulative is the lowest seq not yet received: all below it have been.
	Cumulative() uint64
}

// Reliabilities maps reliability layer names to implementations ("stop-and-wait").
var Reliabilities = NewRegistry[Reliability]("reliability")
