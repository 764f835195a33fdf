package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/droplog"
	"github.com/udpchat/udpchat/internal/replay"
)

// Config wires a Client. Transport, Server, Codec, Suite and
// Reliability are required; the rest have defaults.
type Config struct {
	Transport core.Transport
	// Server is the server the client connects to first.
	Server netip.AddrPort
	// Fallbacks are more servers of the same room (servers that share its
	// log and resume key), tried in turn after Server, round-robin, when
	// the client gives up on the one it has: its handshake went
	// unanswered HandshakeRetries times, or a version 2 server was silent
	// for three keepalives. The client resumes its session on the next
	// one as it does after a restart. Each server's key is checked under
	// its own address (Servers). Without Reconnect the client gives up
	// once every server has failed it since it was last connected.
	Fallbacks         []netip.AddrPort
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
	// Identity is the client's own key (identity.LoadOrCreateClient),
	// proven in every version 2 KEY_REQ: the server registers nicknames to
	// it, and gives a registered one to it alone, from any address. Nil is
	// an anonymous session, which can neither register a nickname nor
	// take a registered one.
	Identity ed25519.PrivateKey
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
	// retry waits twice as long, up to 8 s (or HandshakeRTO, if longer).
	// Default 1 s.
	HandshakeRTO time.Duration
	// HandshakeRetries is how many times KEY_REQ is sent again before the
	// client gives up on the handshake: zero sends it once, as 0 does in
	// the configuration file. DefaultHandshakeRetries (5) is udpchat's
	// default; the seed never retries and hangs. An ICMP error the
	// transport reports for the server's address (UnreachableReporter)
	// ends the handshake at once. The client then moves to the next
	// server, tries again after a wait (Reconnect), or returns the verdict.
	HandshakeRetries int
	// Keepalive is how often a version 2 client that has sent nothing else
	// sends PING. Default 10 s. A server silent for three keepalives is
	// taken to be gone.
	Keepalive time.Duration
	// V1AckPause is how long a client in a version 1 session waits after an
	// ACK before it sends its next DATA. The seed's server ACKs a DATA before
	// it counts it (it moves its expected seq on only once the message is
	// printed and broadcast), so a DATA sent the moment that ACK arrives is
	// ACKed and dropped as out of order, and every later one with it: the
	// session is silently dead. Zero is no pause, as 0s is in the
	// configuration file; DefaultV1AckPause is udpchat's default.
	V1AckPause time.Duration
	// Reconnect makes the client start a new session whenever it loses one
	// (the server restarted, or went silent) and keep trying for ever, with
	// backoff, rather than give up: a handshake it gives up on is reported
	// (HandshakeFailedEvent) and begun again after a wait that grows.
	// Messages sent meanwhile wait for the new session. A terminal UI wants
	// this; a script wants to be told.
	Reconnect bool
	// Resume, when valid, is a ticket of an earlier process's session
	// (TicketEvent) to resume on the first handshake: the server then
	// gives back its nickname (Ticket.Nick, asked for instead of Nick) at
	// once and replays what it missed. Nil starts afresh; either way the
	// client resumes by itself on every reconnect.
	Resume *Ticket

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

// DefaultV1AckPause outlasts the seed server's window between its ACK and
// its count many times over (docs/PROTOCOL.md has the measurement); a
// version 1 sender pays it once per message.
const DefaultV1AckPause = 20 * time.Millisecond

// Client errors.
var (
	// ErrNoAnswer means the server never answered the handshake: its
	// retries ran out, or, with several servers, none answered.
	ErrNoAnswer = errors.New("no answer from server")
	// ErrNothingListens means a KEY_REQ drew an ICMP port unreachable:
	// no program listens on the server's UDP port (or something forged the
	// ICMP message; see UnreachableReporter).
	ErrNothingListens = errors.New("nothing listens")
	// ErrUnreachable means a KEY_REQ drew an ICMP host or network
	// unreachable.
	ErrUnreachable = errors.New("cannot reach")
	// ErrServerSilent means a version 2 server answered nothing for three
	// keepalives while a line waited for it, and the client was not
	// configured to reconnect.
	ErrServerSilent = errors.New("server silent")
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
	in     chan *[]byte    // from datagrams
	icmp   chan icmpReport // from the transport's reports of ICMP errors
	done   chan struct{}

	idMu   sync.Mutex
	nextID uint64

	// servers are Server and the Fallbacks; current is the index of the
	// one the client talks to, which the read loop filters by. Only the
	// loop in Run changes it.
	servers []netip.AddrPort
	current atomic.Int32

	// Owned by the loop in Run.
	state     ConnState
	init      core.Initiator
	keyReq    *core.Packet // the KEY_REQ, for a cookie to be added to
	hello     []byte       // the KEY_REQ datagram, sent again on retry
	helloRaw  []byte       // its payload, for the transcript
	cookies   int          // COOKIEs answered in this handshake
	hsTries   int          // KEY_REQs sent in this handshake; 0 while it waits to start (hsNext)
	hsNext    time.Time
	info      SessionInfo
	keys      core.SessionKeys
	snd       core.Sender
	sndNext   time.Time
	v1Hold    time.Time     // version 1: no DATA before then (V1AckPause after an ACK)
	recv      core.Receiver // version 2: server-to-client DATA
	waiting   []*outgoing   // accepted by Send, not yet given to snd
	refusals  refusals      // version 2: verdicts of refused DATA, until settled
	tags      replay.Tags   // version 1: tags of payloads received
	pingSeq   uint64
	heard     bool   // something sealed came from the server in this session
	ackSeq    uint64 // the last DATA accepted and not yet acknowledged
	acksDue   int    // how many DATA that ACK stands for
	lastSent  time.Time
	lastHeard time.Time // the last authentic packet from the server
	lastPing  time.Time // the last keepalive sent
	// An unsealed BYE under check (suspectLost): the checks sent, and when
	// the next is due (zero: none under way).
	lostProbes int
	lostNext   time.Time
	resume     resumeState
	// tried counts the servers tried since the client was last connected,
	// the one at hand included: without Reconnect it gives up once it has
	// tried them all.
	tried int
	// failedHandshakes counts the handshakes given up on since the client
	// was last connected, for the wait before the next one; verdicts are
	// their verdicts, by server, for the one Run returns once every
	// server has failed.
	failedHandshakes int
	verdicts         []error

	// Scratch space for the packet at hand, reused by the loop in Run:
	// nothing that handles a packet keeps it, its payload or its plaintext.
	scratch core.ScratchDecoder
	opened  []byte
	ad      [core.ADLen]byte
}

// SessionInfo describes a connected session, for a status line.
type SessionInfo struct {
	Server    netip.AddrPort // the server the session is with
	Version   uint8
	Session   uint64
	Nick      string // the name the server gave us (version 2)
	Suite     string
	ServerKey ed25519.PublicKey // nil in version 1
	// ClientKey is the client's own key as the server signed it into the
	// handshake: nil for an anonymous session (no Config.Identity, or a
	// server from before client keys, which ignores them).
	ClientKey ed25519.PublicKey
}

// New checks cfg and returns a Client ready to Run.
func New(cfg Config) (*Client, error) {
	if cfg.Transport == nil || cfg.Codec == nil || cfg.Suite == nil || cfg.Reliability == nil {
		return nil, errors.New("core: client needs a transport, a codec, a suite and a reliability layer")
	}
	if !cfg.Server.IsValid() {
		return nil, errors.New("core: client needs a server address")
	}
	for i, s := range cfg.Fallbacks {
		if !s.IsValid() {
			return nil, fmt.Errorf("client: fallback server %d is not a valid address", i+1)
		}
	}
	if cfg.HandshakeRTO <= 0 {
		cfg.HandshakeRTO = DefaultHandshakeRTO
	}
	if cfg.HandshakeRetries < 0 {
		return nil, fmt.Errorf("client: a negative number of handshake retries (%d); 0 sends KEY_REQ once", cfg.HandshakeRetries)
	}
	if cfg.Keepalive <= 0 {
		cfg.Keepalive = DefaultKeepalive
	}
	if cfg.V1AckPause < 0 {
		return nil, fmt.Errorf("client: a negative v1 ACK pause (%v); 0 is none", cfg.V1AckPause)
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
		cfg.ReliabilityConfig.Queue = 256 // room for the window layer's default window, twice
	}
	c := &Client{
		refusals: refusals{limit: max(64, 2*cfg.ReliabilityConfig.Queue)},
		cfg:      cfg,
		log:      cfg.Logger,
		events:   make(chan Event, 256),
		sendCh:   make(chan *outgoing),
		in:       make(chan *[]byte, max(clientQueue, 2*cfg.ReliabilityConfig.Window)),
		icmp:     make(chan icmpReport, icmpQueue),
		done:     make(chan struct{}),
		// Config is the caller's: its slice is not shared.
		servers:  append([]netip.AddrPort{cfg.Server}, cfg.Fallbacks...),
		verdicts: make([]error, 1+len(cfg.Fallbacks)),
		tried:    1,
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
	c.resume.nick = cfg.Nick
	if cfg.Resume.Valid() {
		c.resume.ticket = *cfg.Resume
		if cfg.Resume.Nick != "" {
			c.resume.nick = cfg.Resume.Nick
		}
	}
	return c, nil
}

// Events is where the client reports what happens. Read it until Run returns;
// the client waits for a slow reader rather than lose an event.
func (c *Client) Events() <-chan Event { return c.events }

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
	c.reportUnreachable()
	readDone := make(chan struct{})
	wg.Go(func() {
		defer close(readDone)
		c.readLoop(readCtx)
	})

	if err := c.startHandshake(ctx, 0); err != nil {
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
			if err := c.handleQueued(ctx, dg); err != nil {
				c.fail(ctx, err)
				return err
			}
		case r := <-c.icmp:
			if err := c.unreachable(ctx, r); err != nil {
				c.fail(ctx, err)
				return err
			}
		case o := <-sendCh:
			c.waiting = append(c.waiting, o)
		case <-timer.C:
		}
	}
}

// handleQueued handles dg, and then the datagrams queued behind it, up to
// drainMax in all, without a turn of the loop between them: in a busy room
// a client receives tens of thousands of datagrams a second, and a turn
// (step, the timer, a select over every channel) cost about as much as
// opening one.
func (c *Client) handleQueued(ctx context.Context, dg *[]byte) error {
	for n := 1; ; n++ {
		err := c.handle(ctx, *dg)
		datagrams.Put(dg)
		if err != nil {
			return err
		}
		if c.acksDue > 0 && (len(c.in) == 0 || c.acksDue >= maxAcksDue) {
			c.sendAck()
		}
		if n == drainMax {
			return nil
		}
		select {
		case dg = <-c.in:
		default:
			return nil
		}
	}
}

// drainMax bounds the datagrams handled in one turn of Run's loop: what
// the turn does (a DATA the window lets go, a timer due) waits for them.
const drainMax = 16

// server is the address of the server the client talks to now.
func (c *Client) server() netip.AddrPort { return c.servers[c.current.Load()] }

func (c *Client) emit(ctx context.Context, e Event) {
	select {
	case c.events <- e:
	case <-ctx.Done():
	}
}
