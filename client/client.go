package client

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/droplog"
	"github.com/udpchat/udpchat/internal/replay"

	"github.com/udpchat/udpchat/identity"
)

// Config wires a Client. Transport, Server, Codec, Suite and
// Reliability are required; the rest have defaults.
type Config struct {
	Transport         core.Transport
	Server            netip.AddrPort
	Codec             core.Codec
	Suite             core.Suite
	Reliability       core.Reliability
	ReliabilityConfig core.ReliabilityConfig
	// V1Reliability is the layer for a version 1 session: it must be
	// stop-and-wait, the only one a seed server copes with. Default
	// Reliability.
	V1Reliability core.Reliability

	// Nick is the nickname asked for in a version 2 handshake.
	Nick string
	// MaxVersion is the highest protocol version offered: 2 (the default)
	// or 1, to speak only the seed's protocol.
	MaxVersion uint8
	// RequireV2 refuses a server that answers in version 1, instead of
	// falling back with a warning.
	RequireV2 bool
	// Servers checks the identity key a version 2 server proves it holds.
	// Nil accepts any key (nothing is pinned).
	Servers ServerVerifier

	// HandshakeRTO is the wait before the first KEY_REQ is sent again; each
	// retry waits twice as long, up to 8 s. Default 1 s.
	HandshakeRTO time.Duration
	// HandshakeRetries is how many times KEY_REQ is sent again before the
	// client gives up. Default 5. The seed never retries and hangs.
	HandshakeRetries int
	// Keepalive is how often a version 2 client that has sent nothing else
	// sends PING. Default 10 s. A server silent for three keepalives is
	// taken to be gone.
	Keepalive time.Duration
	// Reconnect makes the client start a new session whenever it loses one
	// (the server restarted, or went silent) and keep trying for ever, with
	// backoff, rather than give up. Messages sent meanwhile wait for the new
	// session. A terminal UI wants this; a script wants to be told.
	Reconnect bool

	// NewInitiator, when set, replaces Suite.NewInitiator, so that a load
	// generator can reuse keys.
	NewInitiator func() (core.Initiator, error)

	core.Env
}

// ServerVerifier decides whether a version 2 server's identity is the one
// expected: known_servers pinning, as SSH's known_hosts.
type ServerVerifier interface {
	// Verify is called with the key the server proved it holds; an error
	// refuses the server.
	Verify(server netip.AddrPort, key ed25519.PublicKey) error
	// Pinned reports whether a key is on record for server; a version 1
	// answer from it is then a downgrade, and refused.
	Pinned(server netip.AddrPort) bool
}

// Client defaults.
const (
	DefaultHandshakeRTO     = time.Second
	DefaultHandshakeRetries = 5
	DefaultKeepalive        = 10 * time.Second
	maxHandshakeRTO         = 8 * time.Second
	clientQueue             = 64 // datagrams waiting for the engine, beyond the socket's buffer
	byeTries                = 5
)

// Client errors.
var (
	// ErrNoAnswer means the server never answered the handshake.
	ErrNoAnswer = errors.New("no answer from server")
	// ErrDowngrade means a server whose key is pinned answered in version 1.
	ErrDowngrade = errors.New("server answered in protocol version 1 but its key is pinned: refusing a downgrade")
	// ErrV1Server means the server speaks only version 1 and RequireV2 is set.
	ErrV1Server = errors.New("server speaks only protocol version 1 (unauthenticated), and version 2 is required")
)

// Client is the chat client engine: it holds one session with a server, sends
// messages reliably and reports what happens as Events.
type Client struct {
	cfg      Config
	log      *slog.Logger
	drops    droplog.Log
	msgCodec core.MessageCodec // nil: version 1 only
	maxV1    int               // the longest text a version 1 session can carry
	maxV2    int               // the longest version 2 plaintext that fits

	events chan Event
	sendCh chan *outgoing
	in     chan *[]byte // from datagrams
	done   chan struct{}

	idMu   sync.Mutex
	nextID uint64

	// Owned by the loop in Run.
	state     ConnState
	init      core.Initiator
	keyReq    *core.Packet // the KEY_REQ, for a cookie to be added to
	hello     []byte       // the KEY_REQ datagram, sent again on retry
	helloRaw  []byte       // its payload, for the transcript
	cookies   int          // COOKIEs answered in this handshake
	hsTries   int
	hsNext    time.Time
	info      SessionInfo
	keys      core.SessionKeys
	snd       core.Sender
	sndNext   time.Time
	recv      core.Receiver // version 2: server-to-client DATA
	waiting   []*outgoing   // accepted by Send, not yet given to snd
	tags      replay.Tags   // version 1: tags of payloads received
	pingSeq   uint64
	ackSeq    uint64 // the last DATA accepted and not yet acknowledged
	acksDue   int    // how many DATA that ACK stands for
	lastSent  time.Time
	lastHeard time.Time // the last authentic packet from the server

	// Scratch space for the packet at hand, reused by the loop in Run:
	// nothing that handles a packet keeps it, its payload or its plaintext.
	scratch core.ScratchDecoder
	opened  []byte
	ad      [core.ADLen]byte
}

// SessionInfo describes a connected session, for a status line.
type SessionInfo struct {
	Version   uint8
	Session   uint64
	Nick      string // the name the server gave us (version 2)
	Suite     string
	ServerKey ed25519.PublicKey // nil in version 1
}

type outgoing struct {
	id   uint64
	text string
}

// New checks cfg and returns a Client ready to Run.
func New(cfg Config) (*Client, error) {
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
	if cfg.Keepalive <= 0 {
		cfg.Keepalive = DefaultKeepalive
	}
	if cfg.MaxVersion == 0 {
		cfg.MaxVersion = 2
	}
	if mv, ok := cfg.Suite.(core.MinVersioner); ok && mv.MinVersion() > cfg.MaxVersion {
		return nil, fmt.Errorf("core: client: suite %s needs protocol version %d, and at most %d is offered", cfg.Suite.Name(), mv.MinVersion(), cfg.MaxVersion)
	}
	cfg.Env = cfg.Env.WithDefaults()
	if cfg.NewInitiator == nil {
		suite, r := cfg.Suite, cfg.Rand
		cfg.NewInitiator = func() (core.Initiator, error) { return suite.NewInitiator(r) }
	}
	if cfg.ReliabilityConfig.Queue <= 0 {
		cfg.ReliabilityConfig.Queue = 64
	}
	c := &Client{
		cfg:    cfg,
		log:    cfg.Logger,
		events: make(chan Event, 256),
		sendCh: make(chan *outgoing),
		in:     make(chan *[]byte, max(clientQueue, 2*cfg.ReliabilityConfig.Window)),
		done:   make(chan struct{}),
		// Our own DATA must fit, and so must the server's broadcast of it
		// behind the longest sender prefix the server could add.
		maxV1: min(core.MaxPlaintext(cfg.Codec, cfg.Suite, core.ClientDataHeader),
			core.MaxPlaintext(cfg.Codec, cfg.Suite, core.BroadcastHeader)-core.MaxV1Prefix),
		maxV2: core.MaxPlaintext(cfg.Codec, cfg.Suite, core.V2DataHeader),
	}
	if mc, ok := cfg.Codec.(core.MessageCodec); ok && cfg.MaxVersion >= 2 {
		c.msgCodec = mc
	}
	c.drops.Logger = cfg.Logger
	return c, nil
}

// Events is where the client reports what happens. Read it until Run returns;
// the client waits for a slow reader rather than lose an event.
func (c *Client) Events() <-chan Event { return c.events }

// worstEnvelope is the largest message the server could wrap a text in:
// every field at its longest.
var worstEnvelope = core.Message{
	Kind: core.KindHistory, ID: 1<<64 - 1, From: "wwwwwwwwwwwwwwww", To: "wwwwwwwwwwwwwwww",
	Time: time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC),
}

// CheckText says why text cannot be sent, or returns nil: it must fit in a
// datagram as the server relays it, whichever protocol version is spoken.
func (c *Client) CheckText(text string) error {
	limit := c.maxV1
	fits := len(text) <= c.maxV1
	if fits && c.msgCodec != nil {
		m := worstEnvelope
		m.Text = text
		b, err := c.msgCodec.AppendMessage(nil, &m)
		fits = err == nil && len(b) <= c.maxV2
		if !fits {
			// Text that JSON must escape takes more room; say what plain text fits.
			limit = min(limit, len(text)-(len(b)-c.maxV2))
		}
	}
	if !fits {
		return fmt.Errorf("%w: %d bytes, at most about %d", core.ErrTooLong, len(text), limit)
	}
	return nil
}

// Send queues text for the server and returns the message's ID, which later
// events name. It blocks while the send queue is full, and fails at once with
// an error matching ErrTooLong for a text that cannot fit in a datagram.
func (c *Client) Send(ctx context.Context, text string) (uint64, error) {
	if err := c.CheckText(text); err != nil {
		return 0, err
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
		return 0, core.ErrClosed
	}
}

// Run connects to the server and runs the client until ctx is done; a
// version 2 client then says BYE. It closes the transport before it
// returns. It returns nil after ctx is done, or an error if the server could
// not be reached or was refused.
func (c *Client) Run(ctx context.Context) error {
	defer close(c.done)
	// The read loop outlives ctx, so that BYE's answer can still arrive.
	readCtx, stopRead := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	defer func() {
		stopRead()
		c.cfg.Transport.Close()
		wg.Wait()
	}()
	readDone := make(chan struct{})
	wg.Go(func() {
		defer close(readDone)
		c.readLoop(readCtx)
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
			c.bye()
			return nil
		case <-readDone:
			err := errors.New("core: client: transport closed under the client")
			c.fail(ctx, err)
			return err
		case dg := <-c.in:
			err := c.handle(ctx, *dg)
			datagrams.Put(dg)
			if err != nil {
				c.fail(ctx, err)
				return err
			}
			if c.acksDue > 0 && (len(c.in) == 0 || c.acksDue >= maxAcksDue) {
				c.sendAck()
			}
		case o := <-sendCh:
			c.waiting = append(c.waiting, o)
		case <-timer.C:
		}
	}
}

func (c *Client) readLoop(ctx context.Context) {
	buf := make([]byte, core.MaxDatagram+1)
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
		if n > core.MaxDatagram {
			c.drop(from, "oversize datagram", nil)
			continue
		}
		// When the engine is behind, the read waits and the socket's
		// buffer holds what comes meanwhile: dropping here instead lost
		// whole bursts of a window to retransmission timeouts.
		select {
		case c.in <- copyDatagram(buf[:n]):
		case <-ctx.Done():
			return
		}
	}
}

// datagrams recycles the buffers that carry datagrams from the read loop to
// the engine: a client in a busy room receives tens of thousands a second.
var datagrams = sync.Pool{New: func() any { return new([]byte) }}

func copyDatagram(b []byte) *[]byte {
	dg := datagrams.Get().(*[]byte)
	*dg = append((*dg)[:0], b...)
	return dg
}

func (c *Client) drop(from netip.AddrPort, reason string, err error) {
	c.drops.Drop(c.cfg.Now(), from, reason, err)
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
	case c.handshaking():
		next = c.hsNext
	case !c.sndNext.IsZero():
		next = c.sndNext
	case c.info.Version >= 2:
		next = c.lastSent.Add(c.cfg.Keepalive)
		if c.cfg.Reconnect {
			next = minTime(next, c.lastHeard.Add(3*c.cfg.Keepalive+time.Millisecond))
		}
	default:
		return time.Hour
	}
	return max(next.Sub(c.cfg.Now()), 0)
}

func (c *Client) handshaking() bool {
	return c.state == StateHandshaking || c.state == StateReconnecting
}

// startHandshake draws new keys and sends KEY_REQ. New keys make a new
// session on the server, which is how a client recovers after giving up on a
// message: the old session's receiver still waits for it.
func (c *Client) startHandshake() error {
	init, err := c.cfg.NewInitiator()
	if err != nil {
		return fmt.Errorf("core: client: new handshake: %w", err)
	}
	p := &core.Packet{Type: core.TypeKeyReq, Payload: init.Hello()}
	if c.msgCodec != nil {
		p.Version, p.Nick, p.Suites = 2, c.cfg.Nick, []string{c.cfg.Suite.Name()}
	}
	hello, err := c.cfg.Codec.Append(nil, p)
	if err != nil {
		return fmt.Errorf("core: client: encode KEY_REQ: %w", err)
	}
	c.state, c.init, c.keyReq, c.hello, c.helloRaw, c.cookies = StateHandshaking, init, p, hello, p.Payload, 0
	c.keys, c.snd, c.recv, c.info, c.tags, c.pingSeq, c.acksDue = nil, nil, nil, SessionInfo{}, replay.Tags{}, 0, 0
	c.hsTries, c.hsNext = 1, c.cfg.Now().Add(c.cfg.HandshakeRTO)
	c.log.Info("handshake started", "server", c.cfg.Server.String(), "suite", c.cfg.Suite.Name(), "offer_version", max(p.Version, 1))
	c.write(hello)
	return nil
}

// step does whatever is due: KEY_REQ retries while handshaking, and otherwise
// the reliability layer's sends, retransmissions and give-ups, and keepalives.
func (c *Client) step(ctx context.Context) error {
	now := c.cfg.Now()
	if c.handshaking() {
		if now.Before(c.hsNext) {
			return nil
		}
		if c.hsTries > c.cfg.HandshakeRetries && !c.cfg.Reconnect {
			if mv, ok := c.cfg.Suite.(core.MinVersioner); ok && mv.MinVersion() > 1 {
				return fmt.Errorf("%w after %d KEY_REQs: suite %s needs protocol version %d, and a seed (version 1) server cannot answer it",
					ErrNoAnswer, c.hsTries, c.cfg.Suite.Name(), mv.MinVersion())
			}
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
		if errors.Is(err, core.ErrQueueFull) {
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
		if c.info.Version >= 2 {
			if c.cfg.Reconnect && now.Sub(c.lastHeard) > 3*c.cfg.Keepalive {
				c.log.Warn("server silent for three keepalives: reconnecting", "last_heard", c.lastHeard)
				return c.reconnect(ctx)
			}
			if !now.Before(c.lastSent.Add(c.cfg.Keepalive)) {
				c.ping(now)
			}
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

// reconnect abandons a lost session and starts a new one; what was not yet
// acknowledged is sent again in it.
func (c *Client) reconnect(ctx context.Context) error {
	if c.snd != nil {
		c.waiting = append(refsToOutgoing(c.snd.Drain()), c.waiting...)
	}
	c.emit(ctx, StateEvent{State: StateReconnecting})
	err := c.startHandshake()
	c.state = StateReconnecting
	return err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func refsToOutgoing(refs []any) []*outgoing {
	out := make([]*outgoing, len(refs))
	for i, ref := range refs {
		out[i] = ref.(*outgoing)
	}
	return out
}

func (c *Client) sealData(seq uint64, text string) ([]byte, error) {
	p := &core.Packet{Type: core.TypeData, Seq: seq, HasSeq: true, Session: c.info.Session}
	plain := []byte(text)
	var ad []byte
	if c.info.Version >= 2 {
		var err error
		if plain, err = c.msgCodec.AppendMessage(nil, &core.Message{Kind: core.KindChat, Text: text}); err != nil {
			return nil, err
		}
		ad = p.AD()
	}
	sealed, err := c.keys.Seal(nil, plain, ad)
	if err != nil {
		return nil, err
	}
	p.Payload = sealed
	return c.cfg.Codec.Append(nil, p)
}

// sendSealed seals plaintext under p's header, in this version 2 session,
// and sends p.
func (c *Client) sendSealed(p *core.Packet, plaintext []byte) {
	p.Session = c.info.Session
	sealed, err := c.keys.Seal(nil, plaintext, p.AD())
	if err != nil {
		c.log.Error("seal failed", "err", err)
		return
	}
	p.Payload = sealed
	if dg, err := c.cfg.Codec.Append(nil, p); err == nil {
		c.write(dg)
	}
}

// ping sends a keepalive carrying the time, which the PONG brings back.
func (c *Client) ping(now time.Time) {
	c.pingSeq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(now.UnixNano()))
	c.sendSealed(&core.Packet{Type: core.TypePing, Seq: c.pingSeq, HasSeq: true}, b[:])
}

// handle processes one datagram from the server. It returns an error only
// when the server must be refused.
func (c *Client) handle(ctx context.Context, dg []byte) error {
	p, err := c.scratch.Decode(c.cfg.Codec, dg)
	if err != nil {
		c.drop(c.cfg.Server, "undecodable", err)
		return nil
	}
	switch p.Type {
	case core.TypeKeyRep:
		return c.handleKeyRep(ctx, p)
	case core.TypeCookie:
		c.handleCookie(p)
		return nil
	}
	if c.keys == nil {
		c.drop(c.cfg.Server, p.Type.String()+" before the handshake", nil)
		return nil
	}
	if c.info.Version >= 2 {
		return c.handleV2(ctx, p)
	}
	switch p.Type {
	case core.TypeAck:
		if !p.HasAckSeq {
			c.drop(c.cfg.Server, "ACK without ack_seq", nil)
			return nil
		}
		c.acked(ctx, core.Ack{Seq: p.AckSeq})
	case core.TypeData:
		tag := c.keys.Tag(p.Payload)
		if c.tags.Seen(tag) {
			c.drop(c.cfg.Server, "replayed payload", core.ErrReplay)
			return nil
		}
		plain, err := c.keys.Open(nil, p.Payload, nil)
		if err != nil {
			c.drop(c.cfg.Server, "DATA failed to open", err)
			return nil
		}
		c.tags.Add(tag)
		from, text := core.ParseV1Text(string(plain))
		kind := core.KindChat
		if from == core.SystemSender {
			kind = core.KindSystem
		}
		c.emit(ctx, MessageEvent{Message: core.Message{Kind: kind, From: from, Text: text, Time: c.cfg.Now()}})
	default:
		c.drop(c.cfg.Server, "unexpected packet type", errors.New(p.Type.String()))
	}
	return nil
}

func (c *Client) acked(ctx context.Context, a core.Ack) {
	for _, ref := range c.snd.Ack(a, c.cfg.Now()) {
		c.emit(ctx, DeliveredEvent{ID: ref.(*outgoing).id})
	}
}

// maxCookies bounds the COOKIEs a client answers in one handshake: COOKIE
// is not authenticated, and a stranger's must not turn the client into a
// source of KEY_REQs.
const maxCookies = 3

// handleCookie sends KEY_REQ again at once, with the cookie a server under
// load asked for. The retry schedule goes on as before: a cookie proves the
// server is there, not that it will answer.
func (c *Client) handleCookie(p *core.Packet) {
	switch {
	case !c.handshaking() || c.keyReq.Version < 2:
		c.drop(c.cfg.Server, "COOKIE outside a version 2 handshake", nil)
		return
	case len(p.Cookie) == 0 || len(p.Cookie) > 64:
		c.drop(c.cfg.Server, "malformed COOKIE", fmt.Errorf("%d-byte cookie", len(p.Cookie)))
		return
	case c.cookies >= maxCookies:
		c.drop(c.cfg.Server, "too many COOKIEs in one handshake", nil)
		return
	}
	c.cookies++
	c.keyReq.Cookie = p.Cookie
	hello, err := c.cfg.Codec.Append(nil, c.keyReq)
	if err != nil {
		c.log.Error("encode KEY_REQ", "err", err)
		return
	}
	c.hello = hello
	c.log.Info("server under load: sending KEY_REQ again with its cookie")
	c.write(hello)
}

// handleKeyRep completes the handshake: in version 2 only once the server
// has proved its identity over the whole handshake and that identity is the
// one pinned.
func (c *Client) handleKeyRep(ctx context.Context, p *core.Packet) error {
	if !c.handshaking() {
		return nil // an answer to a retried KEY_REQ; the first one counted
	}
	info := SessionInfo{Version: 1, Suite: c.cfg.Suite.Name()}
	if p.Version >= 2 && c.msgCodec != nil {
		if p.Session == 0 || len(p.ServerKey) != ed25519.PublicKeySize || p.Suite != c.cfg.Suite.Name() {
			c.drop(c.cfg.Server, "malformed version 2 KEY_REP", nil)
			return nil
		}
		key := ed25519.PublicKey(p.ServerKey)
		err := identity.Verify(key, identity.Transcript{
			Hello: c.helloRaw, Reply: p.Payload, Suites: []string{c.cfg.Suite.Name()}, Nick: p.Nick,
			Suite: p.Suite, SessionID: p.Session, ServerKey: key,
		}, p.Sig)
		if err != nil {
			// Anyone can send a KEY_REP; only the server can sign one.
			c.drop(c.cfg.Server, "KEY_REP not signed by the key it carries", err)
			return nil
		}
		if c.cfg.Servers != nil {
			if err := c.cfg.Servers.Verify(c.cfg.Server, key); err != nil {
				return err
			}
		}
		info = SessionInfo{Version: 2, Session: p.Session, Nick: p.Nick, Suite: p.Suite, ServerKey: key}
	} else if c.msgCodec != nil {
		switch {
		case c.cfg.Servers != nil && c.cfg.Servers.Pinned(c.cfg.Server):
			return fmt.Errorf("%s: %w", c.cfg.Server, ErrDowngrade)
		case c.cfg.RequireV2:
			return fmt.Errorf("%s: %w", c.cfg.Server, ErrV1Server)
		}
	}
	keys, err := c.init.Finish(p.Payload, core.Handshake{Version: info.Version, SessionID: info.Session})
	if err != nil {
		c.drop(c.cfg.Server, "bad KEY_REP", err)
		return nil
	}
	c.keys, c.info, c.state = keys, info, StateConnected
	layer := c.cfg.Reliability
	if info.Version < 2 && c.cfg.V1Reliability != nil {
		layer = c.cfg.V1Reliability
	}
	c.snd = layer.NewSender(c.cfg.ReliabilityConfig)
	c.recv = layer.NewReceiver(c.cfg.ReliabilityConfig)
	c.lastSent, c.lastHeard = c.cfg.Now(), c.cfg.Now()
	c.log.Info("connected", "server", c.cfg.Server.String(), "version", info.Version, "nick", info.Nick)
	if info.Version < 2 && c.msgCodec != nil {
		c.emit(ctx, NoticeEvent{Text: "the server speaks only protocol version 1 (the seed's): it is not authenticated, and messages to you are best effort"})
	}
	c.emit(ctx, StateEvent{State: StateConnected, Info: &info})
	if info.Version >= 2 {
		// Prove at once that we hold the keys: until then the server sends
		// us nothing, since our address might have been spoofed.
		c.ping(c.cfg.Now())
	}
	return nil
}

// handleV2 processes a packet of a version 2 session: nothing in it is
// believed before it opens under its own header.
func (c *Client) handleV2(ctx context.Context, p *core.Packet) error {
	if p.Session != c.info.Session {
		c.drop(c.cfg.Server, "packet for another session", nil)
		return nil
	}
	if p.Type == core.TypeBye && len(p.Payload) == 0 {
		// The server does not know our session (it restarted): only it and
		// we know the session id, so this is no stranger's guess.
		c.log.Warn("the server has lost our session")
		return c.sessionLost(ctx)
	}
	plain, err := c.keys.Open(c.opened[:0], p.Payload, p.AppendAD(c.ad[:0]))
	if err != nil {
		c.drop(c.cfg.Server, p.Type.String()+" failed to open", err)
		return nil
	}
	c.opened = plain
	c.lastHeard = c.cfg.Now()
	switch p.Type {
	case core.TypeAck:
		if p.HasAckSeq {
			c.acked(ctx, core.Ack{Seq: p.AckSeq, Cum: p.Cum, HasCum: p.HasCum})
		}
	case core.TypeData:
		if !p.HasSeq {
			return nil
		}
		switch c.recv.Classify(p.Seq) {
		case core.ArrivalDuplicate:
			c.sendSealed(&core.Packet{Type: core.TypeAck, AckSeq: p.Seq, HasAckSeq: true, Cum: c.recv.Cumulative(), HasCum: true}, nil)
			return nil
		case core.ArrivalOutOfOrder:
			c.drop(c.cfg.Server, "DATA out of order", fmt.Errorf("seq %d", p.Seq))
			return nil
		}
		ms, err := c.decodeMessages(plain)
		if err != nil {
			// Accepted all the same: what the server sent cannot be
			// read, and waiting for it to be sent again would not help.
			c.log.Warn("malformed message from the server", "err", err)
		}
		for _, r := range c.recv.Accept(p.Seq, ms) {
			ms, _ := r.([]*core.Message)
			for _, m := range ms {
				c.emit(ctx, MessageEvent{Message: *m})
			}
		}
		// The ACK waits until the datagrams already here are handled: one
		// ACK, with its cumulative part, then covers a whole burst.
		c.ackSeq, c.acksDue = p.Seq, c.acksDue+1
	case core.TypePong:
		if len(plain) == 8 {
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(plain)))
			c.emit(ctx, RTTEvent{RTT: c.cfg.Now().Sub(sent)})
		}
	case core.TypeBye:
		c.log.Warn("the server ended our session")
		return c.sessionLost(ctx)
	default:
		c.drop(c.cfg.Server, "unexpected packet type", errors.New(p.Type.String()))
	}
	return nil
}

// decodeMessages decodes the plaintext of a version 2 DATA from the server:
// one message, or a bundle of them where the codec can carry one. The slice
// is the caller's: a receiver may hold it back behind a gap.
func (c *Client) decodeMessages(plain []byte) ([]*core.Message, error) {
	if b, ok := c.msgCodec.(core.Bundler); ok {
		return b.DecodeMessages(nil, plain)
	}
	m, err := c.msgCodec.DecodeMessage(plain)
	if err != nil {
		return nil, err
	}
	return []*core.Message{m}, nil
}

// maxAcksDue bounds the DATA one ACK may stand for, so that a sender in a
// long burst still hears of progress.
const maxAcksDue = 16

// sendAck acknowledges the DATA accepted since the last ACK: the last one
// selectively, the rest cumulatively.
func (c *Client) sendAck() {
	c.acksDue = 0
	if c.keys == nil || c.recv == nil {
		return
	}
	c.sendSealed(&core.Packet{Type: core.TypeAck, AckSeq: c.ackSeq, HasAckSeq: true, Cum: c.recv.Cumulative(), HasCum: true}, nil)
}

// sessionLost reconnects, or gives up, as configured.
func (c *Client) sessionLost(ctx context.Context) error {
	if c.cfg.Reconnect {
		return c.reconnect(ctx)
	}
	return errors.New("core: client: the server ended the session")
}

// bye tells a version 2 server the session is over, so it tells the room at
// once rather than after the idle timeout, and waits briefly for its answer.
func (c *Client) bye() {
	if c.state != StateConnected || c.info.Version < 2 {
		return
	}
	wait := c.cfg.ReliabilityConfig.RTO
	if wait <= 0 {
		wait = time.Second
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for range byeTries {
		c.sendSealed(&core.Packet{Type: core.TypeBye}, nil)
		t.Reset(wait)
		for answered := false; !answered; {
			select {
			case dg := <-c.in:
				p, err := c.cfg.Codec.Decode(*dg)
				datagrams.Put(dg)
				if err == nil && p.Type == core.TypeBye && p.Session == c.info.Session {
					if _, err := c.keys.Open(nil, p.Payload, p.AD()); err == nil {
						return
					}
				}
			case <-t.C:
				answered = true // not answered: send again
			}
		}
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
	c.lastSent = c.cfg.Now()
	if _, err := c.cfg.Transport.WriteTo(dg, c.cfg.Server); err != nil {
		c.log.Warn("write failed", "err", err)
	}
}
