package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/droplog"
	"github.com/udpchat/udpchat/internal/histogram"
	"github.com/udpchat/udpchat/internal/ratelimit"
)

// Config wires a Server. Transport, Codec, Suite and Reliability are
// required. A zero field means what 0 means in the configuration file: no
// limit for the limits that can be off (HandshakeLimit, RateLimit, History,
// V1IdleTimeout), the default for the bounds that cannot (MaxSessions,
// MaxHalfOpen, IdleTimeout, RecipientQueue, RetransmitCap) and automatic
// for CookieThreshold.
type Config struct {
	Transport core.Transport
	Codec     core.Codec
	// Codecs are further codecs the server speaks at once ("auto"): each
	// datagram is read in the codec that sniffs it as its own (Sniffer), or
	// else in Codec, and each session is answered in the codec it started in.
	Codecs []core.Codec
	// Suite is the suite version 1 clients get, and version 2 clients that
	// offer nothing the server prefers.
	Suite core.Suite
	// Suites are further suites offered to version 2 clients, preferred in
	// order before Suite.
	Suites            []core.Suite
	Reliability       core.Reliability
	ReliabilityConfig core.ReliabilityConfig
	// V1Reliability is the layer for version 1 sessions: it must be
	// stop-and-wait, the only one a seed client speaks. Default Reliability.
	V1Reliability core.Reliability

	// Handlers see every chat message, in order, before it reaches the room.
	Handlers []core.Middleware
	// Observers hear of joins, leaves and renames. One that is a
	// core.BotSource brings bots and slash commands into the room.
	Observers []core.RoomObserver
	// Reserved are names no client may take: those handlers post under.
	Reserved []string

	// Identity is the server's long-term key. Without it the server speaks
	// only version 1, since version 2 clients require an authenticated server.
	Identity ed25519.PrivateKey

	// Register is when a nickname is registered to the key of the client
	// holding it (owners.go): RegisterAuto (on first use, the default for
	// ""), RegisterCommand (by /register) or RegisterOff.
	Register RegisterMode
	// Registrations keep the registered nicknames (OpenRegistrations, a
	// file in the data directory). Nil keeps them in memory, lost at a
	// restart. Local to this server, whatever Directory is.
	Registrations *Registrations
	// Bans keep banned keys, addresses and nicknames off the server
	// (OpenBans, a file in the data directory). Nil keeps them in memory,
	// lost at a restart.
	Bans *Bans
	// Operators are the fingerprints (identity.Fingerprint) of the client
	// keys of the server's operators (isOperator).
	Operators []string

	// MaxSessions caps the sessions the server keeps; a KEY_REQ beyond it is
	// dropped. Default 4096.
	MaxSessions int
	// MaxHalfOpen caps the version 2 sessions whose client has not yet
	// shown it holds the keys: a flood of spoofed KEY_REQs fills this, not
	// the room. Default MaxSessions/4.
	MaxHalfOpen int
	// MaxSessionsPerAddr caps the sessions of one source IP address, and
	// MaxSessionsPerPrefix those of one network (an IPv4 /24, an IPv6
	// /48): the handshake rate alone let one address fill MaxSessions in
	// minutes, so that only many real addresses can. A KEY_REQ beyond
	// either is dropped; a session that roams in may take an address past
	// it. Zero is the default, MaxSessions/128 (at least 8) and
	// MaxSessions/32 (at least MaxSessionsPerAddr); negative is no cap
	// (tests whose clients all share 127.0.0.1).
	MaxSessionsPerAddr   int
	MaxSessionsPerPrefix int
	// HandshakeLimit limits the KEY_REQs that start a session, per source
	// IP address (ports cost a spoofer nothing). Zero is no limit;
	// DefaultHandshakeLimit is udpchat-server's default.
	HandshakeLimit RateLimit
	// CookieThreshold is the number of half-open sessions at which the
	// server is under load: it then answers a version 2 KEY_REQ that carries
	// no valid cookie with a COOKIE, and does no work and keeps no state for
	// it until the client echoes the cookie from the same address. Default
	// MaxHalfOpen/8; negative asks for a cookie always.
	CookieThreshold int
	// IdleTimeout ends a version 2 session that has sent nothing for that
	// long. Its clients send keepalives, so it can be short. Default 60 s.
	// It is the only way the server gives up on a version 2 client: it never
	// gives up on a message to one (see RetransmitCap).
	IdleTimeout time.Duration
	// RetransmitCap is the longest the server waits for a version 2
	// client's ACK before sending a DATA again. Its senders persist
	// (core.ReliabilityConfig.Persist): a DATA is sent again until it is
	// acknowledged or the session ends, whatever ReliabilityConfig.MaxRetries
	// says, the wait doubling from the RTO up to this cap (MaxRTO), so that
	// a client back from an outage gets what it missed within the cap, and a
	// silent one costs a datagram per message every cap until IdleTimeout.
	// Default 4 s.
	RetransmitCap time.Duration
	// V1IdleTimeout ends a version 1 session that has sent nothing for that
	// long. Seed clients send nothing while they only listen, so it must be
	// long. Zero keeps them until they are replaced.
	V1IdleTimeout time.Duration
	// History is how many chat messages of the room's log a newcomer is
	// shown: zero shows none. DefaultHistory (20, as ssh-chat) is
	// udpchat-server's default.
	History int
	// RoomLog is the room's log (core.RoomLog): every message of the room
	// is appended to it, and each version 2 recipient reads it from its own
	// cursor. Nil opens the room log registered as "memory" (import
	// udpchat/standard or roomlog/memory) with its defaults, which the
	// server closes when Serve returns; one given here is the caller's.
	RoomLog core.RoomLog
	// ResumeKey is the key of resume tokens (core.ResumeToken): servers
	// that share a room log share it, so that a client resumes its session
	// on any of them, and after a restart, as long as the log keeps its
	// epoch. At least 32 bytes. Nil draws one at New, which a restart loses.
	ResumeKey []byte
	// Directory is the presence shared with the other servers of the
	// room (core.Directory), opened by Serve: a nickname is one session's
	// on all of them, /who lists the users of all, and /msg reaches a user
	// of any. Nil keeps nicknames, /who and /msg to this server's own
	// sessions.
	Directory core.Directory
	// RecipientQueue bounds the messages for one version 2 client alone
	// (private messages, notices) that wait to be sent; past it a private
	// message is refused to its sender. A recipient a quarter of it
	// behind the room's head makes the room wait for it, briefly
	// (back-pressure); room messages themselves wait in the log, never in
	// a queue per recipient. Default 1024.
	RecipientQueue int
	// RateLimit limits each session's messages: beyond it they wait, and
	// their ACKs with them, and go on as the rate allows (lag.go); only one
	// that would wait longer than its MaxLag is refused, with a notice.
	// Zero is no limit; DefaultRateLimit (20 at once, a pasted paragraph,
	// then 2 a second, waiting up to 30 s) is udpchat-server's default.
	RateLimit RateLimit
	// HandlerDeadline bounds the time from a message's arrival to its
	// verdict, its wait in the handler queue and its run through the
	// handlers together: one worker runs the chain, so a slow plugin's
	// time adds up along the queue. A message whose turn comes after it is
	// refused "server busy" without running the handlers; one still in the
	// handlers at it has its context cancelled (a plugin call ends then),
	// and is refused so too unless it was delivered first. A message the
	// rate limit delays counts from when it is due. Default
	// DefaultHandlerDeadline.
	HandlerDeadline time.Duration
	// MaxChannels bounds the channels the server keeps open, the lobby
	// included (channel.go). Default DefaultMaxChannels.
	MaxChannels int
	// MOTD is the message of the day, shown to every client as it
	// connects; empty shows none.
	MOTD string

	core.Env
}

// Server defaults.
const (
	DefaultMaxSessions    = 4096
	DefaultIdleTimeout    = 60 * time.Second
	DefaultHistory        = 20
	DefaultRecipientQueue = 1024
	DefaultRetransmitCap  = 4 * time.Second
	// DefaultHandlerDeadline is well inside the 12 s a seed client (and a
	// version 1 line of udpchat's) waits for an ACK, and leaves a message
	// two calls of a plugin at its default 2 s timeout.
	DefaultHandlerDeadline = 5 * time.Second
	serverTick             = 20 * time.Millisecond // retransmission timer granularity
	handoffQueue           = 4096                  // messages waiting for the handler chain
)

// Defaults of the limits that are off at zero, which udpchat-server turns on.
var (
	DefaultRateLimit      = RateLimit{Rate: 2, Burst: 20, MaxLag: 30 * time.Second}
	DefaultHandshakeLimit = RateLimit{Rate: 5, Burst: 10}
)

// Server is the chat server engine: it owns a transport and the sessions of
// the clients that talk to it.
//
// Datagrams are handled one at a time, in arrival order, by Serve's read loop,
// so a session's messages are processed strictly in sequence: the seed's race,
// in which an ACK went out before the expected seq advanced, cannot happen. A
// second goroutine drives timers: retransmissions to version 2 clients and
// idle eviction. Session state is behind each session's own lock.
type Server struct {
	cfg    Config
	log    *slog.Logger
	drops  droplog.Log
	codecs []core.Codec // Codec first
	v2     bool         // version 2 is spoken: the server has an identity
	suites []core.Suite // version 2 preference order
	maxV1  int          // the longest version 1 plaintext that fits in a datagram, in any codec
	maxV2  int          // the same for version 2

	sessions *sessionTable
	dir      core.Presence // Config.Directory's, while Serve runs; nil without one

	bans *Bans
	regs *Registrations // nil when registration is off
	live atomic.Pointer[live]

	// The rooms (cursor.go, channel.go): their log, which the server
	// closes if it opened it; the lobby and every open channel; scratch
	// for batched reads.
	roomLog   core.RoomLog
	ownLog    bool
	lobby     *room
	rooms     roomTable
	entries   sync.Pool // of *[]core.LogEntry
	helds     sync.Pool // of *[][]byte, a DATA's messages while it is gathered
	resumeKey []byte    // the key of resume tokens (core.ResumeToken), drawn at New
	// Pipelined appends (commit.go), while Serve runs with a log that
	// starts them: the committer's queue, written by the handler worker
	// only and closed by it as it stops, and the appends under way.
	starter   core.AppendStarter
	commits   chan *pending
	inFlight  atomic.Int64
	committed chan struct{} // a token after each append the committer finishes, for the follower
	pendingMu sync.Mutex
	pending   map[*session]struct{} // sessions with DATA in flight

	lagMu   sync.Mutex
	lagging map[*session]time.Time // sessions with messages delayed by the rate limit: when the first is due

	work chan handoff // to the handler chain's worker, while Serve runs
	// lanes seal and send to seed clients while Serve runs (seedlanes.go);
	// laneTurn gives each new session the next lane.
	lanes    *seedLanes
	laneTurn atomic.Uint32

	halfOpen   atomic.Int64 // version 2 sessions not yet confirmed
	handshakes ratelimit.Sources
	cookies    cookieJar
	gathered   presenceQueue // announcements gathered in a large room

	outboxes sync.Pool // of *outbox, for fan-outs
	bundles  sync.Pool // of *[]byte, a bundle's plaintext while it is sealed
	egress   sync.Pool // of *egressScratch, a datagram while it is sealed and encoded
	opens    sync.Pool // of *[]byte, a payload while it is opened and handled

	// The read loop's decoded packet and its payload's storage, reused.
	scratch core.ScratchDecoder

	received, accepted, relayed, bundled, started, cookied atomic.Uint64

	// The rest of what Stats reports (stats.go).
	counters
	// ready is set at "server ready", stopping when Serve's context ends
	// or Serve returns (Serving).
	ready, stopping atomic.Bool
}

// New checks cfg and returns a Server ready to Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Transport == nil || cfg.Codec == nil || cfg.Suite == nil || cfg.Reliability == nil {
		return nil, errors.New("server: needs a transport, a codec, a suite and a reliability layer")
	}
	if cfg.Register == "" {
		cfg.Register = RegisterAuto
	}
	if !slices.Contains(RegisterModes, cfg.Register) {
		return nil, fmt.Errorf("server: registration mode %q, want one of %q", cfg.Register, RegisterModes)
	}
	if cfg.History < 0 {
		return nil, fmt.Errorf("server: a negative history (%d); 0 keeps none", cfg.History)
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.MaxSessionsPerAddr == 0 {
		cfg.MaxSessionsPerAddr = max(cfg.MaxSessions/128, 8)
	}
	if cfg.MaxSessionsPerPrefix == 0 {
		cfg.MaxSessionsPerPrefix = max(cfg.MaxSessions/32, cfg.MaxSessionsPerAddr)
	}
	if cfg.MaxHalfOpen <= 0 {
		cfg.MaxHalfOpen = max(cfg.MaxSessions/4, 1)
	}
	if cfg.CookieThreshold == 0 {
		cfg.CookieThreshold = max(cfg.MaxHalfOpen/8, 1)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.V1Reliability == nil {
		cfg.V1Reliability = cfg.Reliability
	}
	if cfg.RecipientQueue <= 0 {
		cfg.RecipientQueue = DefaultRecipientQueue
	}
	if cfg.RetransmitCap <= 0 {
		cfg.RetransmitCap = DefaultRetransmitCap
	}
	if cfg.HandlerDeadline <= 0 {
		cfg.HandlerDeadline = DefaultHandlerDeadline
	}
	if cfg.MaxChannels <= 0 {
		cfg.MaxChannels = DefaultMaxChannels
	}
	cfg.Env = cfg.Env.WithDefaults()
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		sessions: newSessionTable(),
		pending:  make(map[*session]struct{}),
		lagging:  make(map[*session]time.Time),
		codecs:   append([]core.Codec{cfg.Codec}, cfg.Codecs...),
		suites:   append(append([]core.Suite(nil), cfg.Suites...), cfg.Suite),
		v2:       cfg.Identity != nil,
		maxV1:    core.MaxDatagram,
		maxV2:    core.MaxDatagram,

		regs: cfg.Registrations,
		bans: cfg.Bans,
	}
	s.latency = histogram.New(histogram.Nanoseconds, histogram.Seconds...)
	if s.bans == nil {
		s.bans = NewBans()
	}
	switch {
	case cfg.Register == RegisterOff:
		s.regs = nil
	case s.regs == nil:
		s.regs = NewRegistrations()
	}
	for _, c := range s.codecs {
		s.maxV1 = min(s.maxV1, core.MaxPlaintext(c, cfg.Suite, core.BroadcastHeader))
		for _, suite := range s.suites {
			s.maxV2 = min(s.maxV2, core.MaxPlaintext(c, suite, core.V2DataHeader))
		}
	}
	// Before the room is opened, so that a clash of bots leaves nothing to
	// close.
	l, err := s.newLive(cfg.live())
	if err != nil {
		return nil, err
	}
	s.live.Store(l)
	if err := s.openRoom(); err != nil {
		return nil, err
	}
	s.drops.Logger = cfg.Logger
	return s, nil
}

// Addr is the address the server's transport is bound to.
func (s *Server) Addr() netip.AddrPort { return s.cfg.Transport.LocalAddr() }

// Serve reads and handles datagrams until ctx is done, then closes the
// transport and returns nil once every goroutine it started has ended. It
// returns an error if the transport fails.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	// The transport is closed, not merely closing, when Serve returns: a
	// server started again on the same address must find it free.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { s.stopping.Store(true); s.cfg.Transport.Close(); close(closed) })
	defer func() {
		s.stopping.Store(true)
		if stop() {
			s.cfg.Transport.Close()
		} else {
			<-closed
		}
	}()
	if s.cfg.Directory != nil {
		dir, err := s.cfg.Directory.Open(ctx, s.deliverFrom)
		if err != nil {
			cancel()
			return fmt.Errorf("server: open the directory: %w", err)
		}
		s.dir = dir
	}
	s.lanes = s.startSeedLanes()
	var wg sync.WaitGroup
	wg.Go(func() { s.timers(ctx) })
	s.work = make(chan handoff, handoffQueue)
	if st, ok := s.roomLog.(core.AppendStarter); ok {
		s.starter, s.commits, s.committed = st, make(chan *pending, commitQueue), make(chan struct{}, 1)
		wg.Go(func() { s.commit(ctx) })
	}
	wg.Go(func() {
		if s.commits != nil {
			defer close(s.commits)
		}
		wctx := s.workerContext(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case h := <-s.work:
				s.admit(wctx, h)
			}
		}
	})
	if !s.ownLog {
		// Another server may append to a log it was given: follow each
		// room's. Nobody else holds the log it made itself, and
		// following its own appends would cost a wake-up of the
		// follower per message.
		s.rooms.mu.Lock()
		s.rooms.follow = func(r *room) { wg.Go(func() { s.follow(ctx, r) }) }
		for _, r := range s.rooms.rooms {
			s.rooms.follow(r)
		}
		s.rooms.mu.Unlock()
	}
	defer func() {
		// The log is closed once nothing waits on it: the follower
		// would take a closed log for a failure.
		s.rooms.mu.Lock()
		s.rooms.follow = nil
		s.rooms.mu.Unlock()
		cancel()
		wg.Wait()
		s.lanes.stop() // after every goroutine that gives them messages
		if s.dir != nil {
			s.dir.Close()
		}
		if s.ownLog {
			s.roomLog.Close()
		}
	}()

	var names []string
	for _, c := range s.codecs {
		names = append(names, c.Name())
	}
	attrs := []any{"addr", s.Addr().String(), "codec", strings.Join(names, ","),
		"suite", s.cfg.Suite.Name(), "reliability", s.cfg.Reliability.Name()}
	seeds := true // the suite a seed client's KEY_REQ is answered with can answer it
	if mv, ok := s.cfg.Suite.(core.MinVersioner); ok && mv.MinVersion() >= 2 {
		seeds = false
	}
	switch {
	case s.v2 && seeds:
		attrs = append(attrs, "protocol", "1,2")
	case s.v2:
		attrs = append(attrs, "protocol", "2")
	default:
		attrs = append(attrs, "protocol", "1")
	}
	s.ready.Store(true)
	s.log.Info("server ready", attrs...)
	if !seeds {
		s.log.Warn("seed (version 1) clients cannot connect: the suite needs protocol version 2; with suite rsa-aes-cbc-hmac they can, and version 2 clients are still offered this one",
			"suite", s.cfg.Suite.Name())
	}
	return s.readLoop(ctx)
}
