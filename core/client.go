package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// ClientConfig wires a Client. Transport, Server, Codec, Suite and
// Reliability are required; the rest have defaults.
type ClientConfig struct {
	Transport         Transport
	Server            netip.AddrPort
	Codec             Codec
	Suite             Suite
	Reliability       Reliability
	ReliabilityConfig ReliabilityConfig

	// HandshakeRTO is the wait before the first KEY_REQ is sent again; each
	// retry waits twice as long, up to 8 s. Default 1 s.
	HandshakeRTO time.Duration
	// HandshakeRetries is how many times KEY_REQ is sent again before the
	// client gives up. Default 5. The seed never retries and hangs.
	HandshakeRetries int

	// NewInitiator, when set, replaces Suite.NewInitiator, so that a load
	// generator can reuse keys.
	NewInitiator func() (Initiator, error)

	Env
}

// Client defaults.
const (
	DefaultHandshakeRTO     = time.Second
	DefaultHandshakeRetries = 5
	maxHandshakeRTO         = 8 * time.Second
	clientQueue             = 64 // datagrams waiting for the engine
)

// ErrNoAnswer means the server never answered the handshake.
var ErrNoAnswer = errors.New("no answer from server")

// Client is the chat client engine: it holds one session with a server, sends
// messages reliably and reports what happens as Events.
type Client struct {
	cfg     ClientConfig
	log     *slog.Logger
	drops   dropLog
	maxText int

	events chan Event
	sendCh chan *outgoing
	in     chan []byte
	done   chan struct{}

	idMu   sync.Mutex
	nextID uint64

	// Owned by the loop in Run.
	state   ConnState
	init    Initiator
	hello   []byte // the KEY_REQ datagram, sent again on retry
	hsTries int
	hsNext  time.Time
	keys    SessionKeys
	snd     Sender
	sndNext time.Time
	waiting []*outgoing // accepted by Send, not yet given to snd
	tags    tagSet
}

type outgoing struct {
	id   uint64
	text string
}

// NewClient checks cfg and returns a Client ready to Run.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Transport == nil || cfg.Codec == nil || cfg.Suite == nil || cfg.Reliability == nil {
		return nil, errors.New("core: client needs a transport, a codec, a suite and a reliability layer")
	}
	if !cfg.Server.IsValid() {
		return nil, errors.New("core: client needs a server address")
	}
	if cfg.HandshakeRTO <= 0 {
		cfg.HandshakeRTO = DefaultHandshakeRTO
	}
	if cfg.HandshakeRetries < 0 {
		cfg.HandshakeRetries = 0
	} else if cfg.HandshakeRetries == 0 {
		cfg.HandshakeRetries = DefaultHandshakeRetries
	}
	cfg.Env = cfg.Env.withDefaults()
	if cfg.NewInitiator == nil {
		suite, r := cfg.Suite, cfg.Rand
		cfg.NewInitiator = func() (Initiator, error) { return suite.NewInitiator(r) }
	}
	if cfg.ReliabilityConfig.Queue <= 0 {
		cfg.ReliabilityConfig.Queue = 64
	}
	c := &Client{
		cfg:    cfg,
		log:    cfg.Logger,
		events: make(chan Event, 256),
		sendCh: make(chan *outgoing),
		in:     make(chan []byte, clientQueue),
		done:   make(chan struct{}),
		// Our own DATA must fit, and so must the server's broadcast of it
		// behind the longest sender prefix the server could add.
		maxText: min(maxPlaintext(cfg.Codec, cfg.Suite, clientDataHeader),
			maxPlaintext(cfg.Codec, cfg.Suite, broadcastHeader)-maxV1Prefix),
	}
	c.drops.log = cfg.Logger
	return c, nil
}

// Events is where the client reports what happens. Read it until Run returns;
// the client waits for a slow reader rather than lose an event.
func (c *Client) Events() <-chan Event { return c.events }

// MaxText is the longest message text Send takes, in bytes.
func (c *Client) MaxText() int { return c.maxText }

// Send queues text for the server and returns the message's ID, which later
// events name. It blocks while the send queue is full, and fails at once with
// an error matching ErrTooLong for a text that cannot fit in a datagram.
func (c *Client) Send(ctx context.Context, text string) (uint64, error) {
	if len(text) > c.maxText {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(text), c.maxText)
	}
	c.idMu.Lock()
	c.nextID++
	o := &outgoing{id: c.nextID, text: text}
	c.idMu.Unlock()
	select {
	case c.sendCh <- o:
		return o.id, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-c.done:
		return 0, ErrClosed
	}
}

// Run connects to the server and runs the client until ctx is done, then
// closes the transport. It returns nil after ctx is done, or an error
// matching ErrNoAnswer if the handshake was given up on.
func (c *Client) Run(ctx context.Context) error {
	defer close(c.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer c.cfg.Transport.Close()
	readDone := make(chan struct{})
	wg.Go(func() {
		defer close(readDone)
		c.readLoop(ctx)
	})

	if err := c.startHandshake(); err != nil {
		return err
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if err := c.step(ctx); err != nil {
			c.fail(ctx, err)
			return err
		}
		timer.Reset(c.nextWake())
		var sendCh chan *outgoing
		if len(c.waiting)+c.sndPending() < c.cfg.ReliabilityConfig.Queue {
			sendCh = c.sendCh
		}
		select {
		case <-ctx.Done():
			return nil
		case <-readDone:
			err := fmt.Errorf("core: client: transport closed under the client")
			c.fail(ctx, err)
			return err
		case dg := <-c.in:
			c.handle(ctx, dg)
		case o := <-sendCh:
			c.waiting = append(c.waiting, o)
		case <-timer.C:
		}
	}
}

func (c *Client) readLoop(ctx context.Context) {
	buf := make([]byte, MaxDatagram+1)
	for {
		n, from, err := c.cfg.Transport.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			c.drop(c.cfg.Server, "read failed", err)
			continue
		}
		if from != c.cfg.Server {
			c.drop(from, "datagram not from the server", nil)
			continue
		}
		if n > MaxDatagram {
			c.drop(from, "oversize datagram", nil)
			continue
		}
		select {
		case c.in <- append([]byte(nil), buf[:n]...):
		default:
			// The engine is behind; a datagram lost here is one the
			// reliability layer recovers, as it would a lost one.
			c.drop(from, "client queue full", nil)
		}
	}
}

func (c *Client) drop(from netip.AddrPort, reason string, err error) {
	c.drops.drop(c.cfg.Now(), from, reason, err)
}

func (c *Client) emit(ctx context.Context, e Event) {
	select {
	case c.events <- e:
	case <-ctx.Done():
	}
}

func (c *Client) sndPending() int {
	if c.snd == nil {
		return 0
	}
	return c.snd.Pending()
}

func (c *Client) nextWake() time.Duration {
	var next time.Time
	switch {
	case c.state == StateHandshaking:
		next = c.hsNext
	case !c.sndNext.IsZero():
		next = c.sndNext
	default:
		return time.Hour
	}
	return max(next.Sub(c.cfg.Now()), 0)
}

// startHandshake draws new keys and sends KEY_REQ. New keys make a new
// session on the server, which is how a client recovers after giving up on a
// message: the old session's receiver still waits for it.
func (c *Client) startHandshake() error {
	init, err := c.cfg.NewInitiator()
	if err != nil {
		return fmt.Errorf("core: client: new handshake: %w", err)
	}
	hello, err := c.cfg.Codec.Append(nil, &Packet{Type: TypeKeyReq, Payload: init.Hello()})
	if err != nil {
		return fmt.Errorf("core: client: encode KEY_REQ: %w", err)
	}
	c.state, c.init, c.hello, c.keys, c.snd = StateHandshaking, init, hello, nil, nil
	c.tags = tagSet{}
	c.hsTries, c.hsNext = 1, c.cfg.Now().Add(c.cfg.HandshakeRTO)
	c.log.Info("handshake started", "server", c.cfg.Server.String(), "suite", c.cfg.Suite.Name())
	c.write(hello)
	return nil
}

// step does whatever is due: KEY_REQ retries while handshaking, and otherwise
// the reliability layer's sends, retransmissions and give-ups.
func (c *Client) step(ctx context.Context) error {
	now := c.cfg.Now()
	if c.state == StateHandshaking {
		if now.Before(c.hsNext) {
			return nil
		}
		if c.hsTries > c.cfg.HandshakeRetries {
			return fmt.Errorf("%w after %d KEY_REQs", ErrNoAnswer, c.hsTries)
		}
		wait := min(c.cfg.HandshakeRTO<<c.hsTries, maxHandshakeRTO)
		c.hsTries++
		c.hsNext = now.Add(wait)
		c.log.Warn("no KEY_REP: sending KEY_REQ again", "attempt", c.hsTries, "next_wait", wait)
		c.write(c.hello)
		return nil
	}
	for len(c.waiting) > 0 {
		o := c.waiting[0]
		_, err := c.snd.Push(func(seq uint64) ([]byte, error) { return c.sealData(seq, o.text) }, o)
		if errors.Is(err, ErrQueueFull) {
			break
		}
		c.waiting = c.waiting[1:]
		if err != nil {
			c.emit(ctx, FailedEvent{ID: o.id, Err: err})
		}
	}
	send, failed, next := c.snd.Poll(now)
	c.sndNext = next
	if len(failed) == 0 {
		for _, t := range send {
			if t.Attempt > 1 {
				c.log.Warn("no ACK: retransmitting", "id", t.Ref.(*outgoing).id, "attempt", t.Attempt)
			}
			c.write(t.Datagram)
		}
		return nil
	}
	for _, ref := range failed {
		o := ref.(*outgoing)
		c.log.Error("message lost: no ACK after retries", "id", o.id, "retries", c.cfg.ReliabilityConfig.MaxRetries)
		c.emit(ctx, FailedEvent{ID: o.id, Err: fmt.Errorf("no ACK after %d retries", c.cfg.ReliabilityConfig.MaxRetries)})
	}
	// The server's receiver may still wait for the lost message, and in
	// protocol version 1 nothing but a new session can move it on. What
	// Poll would send next stays unsent: had the lost message in fact
	// arrived, the old session would accept it, and the new one again.
	c.waiting = append(refsToOutgoing(c.snd.Drain()), c.waiting...)
	c.emit(ctx, StateEvent{State: StateHandshaking})
	return c.startHandshake()
}

func refsToOutgoing(refs []any) []*outgoing {
	out := make([]*outgoing, len(refs))
	for i, ref := range refs {
		out[i] = ref.(*outgoing)
	}
	return out
}

func (c *Client) sealData(seq uint64, text string) ([]byte, error) {
	sealed, err := c.keys.Seal(nil, []byte(text), nil)
	if err != nil {
		return nil, err
	}
	return c.cfg.Codec.Append(nil, &Packet{Type: TypeData, Seq: seq, HasSeq: true, Payload: sealed})
}

func (c *Client) handle(ctx context.Context, dg []byte) {
	p, err := c.cfg.Codec.Decode(dg)
	if err != nil {
		c.drop(c.cfg.Server, "undecodable", err)
		return
	}
	switch p.Type {
	case TypeKeyRep:
		if c.state != StateHandshaking {
			return // an answer to a retried KEY_REQ; the first one counted
		}
		keys, err := c.init.Finish(p.Payload)
		if err != nil {
			c.drop(c.cfg.Server, "bad KEY_REP", err)
			return
		}
		c.keys, c.state = keys, StateConnected
		c.snd = c.cfg.Reliability.NewSender(c.cfg.ReliabilityConfig)
		c.log.Info("connected", "server", c.cfg.Server.String())
		c.emit(ctx, StateEvent{State: StateConnected})
	case TypeAck:
		if c.snd == nil || !p.HasAckSeq {
			c.drop(c.cfg.Server, "unexpected ACK", nil)
			return
		}
		for _, ref := range c.snd.Ack(p.AckSeq, c.cfg.Now()) {
			c.emit(ctx, DeliveredEvent{ID: ref.(*outgoing).id})
		}
	case TypeData:
		if c.keys == nil {
			c.drop(c.cfg.Server, "DATA before the handshake", nil)
			return
		}
		tag := c.keys.Tag(p.Payload)
		if c.tags.seen(tag) {
			c.drop(c.cfg.Server, "replayed payload", ErrReplay)
			return
		}
		plain, err := c.keys.Open(nil, p.Payload, nil)
		if err != nil {
			c.drop(c.cfg.Server, "DATA failed to open", err)
			return
		}
		c.tags.add(tag)
		from, text := ParseV1Text(string(plain))
		kind := KindChat
		if from == SystemSender {
			kind = KindSystem
		}
		c.emit(ctx, MessageEvent{Message: Message{Kind: kind, From: from, Text: text, Time: c.cfg.Now()}})
	default:
		c.drop(c.cfg.Server, "unexpected packet type", errors.New(p.Type.String()))
	}
}

// fail reports the end of the session and every message that will not be sent.
func (c *Client) fail(ctx context.Context, err error) {
	c.state = StateFailed
	c.log.Error("giving up", "err", err)
	c.emit(ctx, StateEvent{State: StateFailed, Err: err})
	if c.snd != nil {
		c.waiting = append(refsToOutgoing(c.snd.Drain()), c.waiting...)
	}
	for _, o := range c.waiting {
		c.emit(ctx, FailedEvent{ID: o.id, Err: err})
	}
	c.waiting = nil
}

func (c *Client) write(dg []byte) {
	if _, err := c.cfg.Transport.WriteTo(dg, c.cfg.Server); err != nil {
		c.log.Warn("write failed", "err", err)
	}
}
