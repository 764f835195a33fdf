package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/droplog"
	"github.com/udpchat/udpchat/internal/ratelimit"

	"golang.org/x/time/rate"
)

// Config wires a Server. Transport, Codec, Suite and Reliability are
// required; the rest have defaults.
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
	// Observers hear of joins, leaves and renames.
	Observers []core.RoomObserver
	// Reserved are names no client may take: those handlers post under.
	Reserved []string

	// Identity is the server's long-term key. Without it the server speaks
	// only version 1, since version 2 clients require an authenticated server.
	Identity ed25519.PrivateKey

	// MaxSessions caps the sessions the server keeps; a KEY_REQ beyond it is
	// dropped. Default 4096.
	MaxSessions int
	// MaxHalfOpen caps the version 2 sessions whose client has not yet
	// shown it holds the keys: a flood of spoofed KEY_REQs fills this, not
	// the room. Default MaxSessions/4.
	MaxHalfOpen int
	// HandshakeRate and HandshakeBurst limit the KEY_REQs that start a
	// session, per source IP address (ports cost a spoofer nothing): Burst
	// at once, then Rate a second. Defaults 10 and 5; a negative Rate turns
	// the limit off.
	HandshakeRate  rate.Limit
	HandshakeBurst int
	// CookieThreshold is the number of half-open sessions at which the
	// server is under load: it then answers a version 2 KEY_REQ that carries
	// no valid cookie with a COOKIE, and does no work and keeps no state for
	// it until the client echoes the cookie from the same address. Default
	// MaxHalfOpen/8; negative asks for a cookie always.
	CookieThreshold int
	// IdleTimeout ends a version 2 session that has sent nothing for that
	// long. Its clients send keepalives, so it can be short. Default 60 s.
	IdleTimeout time.Duration
	// V1IdleTimeout ends a version 1 session that has sent nothing for that
	// long. Seed clients send nothing while they only listen, so it must be
	// long. Zero keeps them until they are replaced.
	V1IdleTimeout time.Duration
	// History is how many chat messages a newcomer is shown. Default 20, as
	// ssh-chat; negative for none.
	History int
	// RecipientQueue bounds the messages waiting to go to one version 2
	// client. A client that falls this far behind loses messages, and no
	// one else waits for it. Default 1024.
	RecipientQueue int
	// Rate and Burst limit each session's messages (a token bucket): Burst at
	// once, then Rate a second. Defaults: 20 at once (a pasted paragraph), 2 a
	// second. A negative Rate turns the limit off.
	Rate  rate.Limit
	Burst int

	core.Env
}

// Server defaults.
const (
	DefaultMaxSessions    = 4096
	DefaultIdleTimeout    = 60 * time.Second
	DefaultHistory        = 20
	DefaultRecipientQueue = 1024
	DefaultRate           = 2
	DefaultBurst          = 20
	DefaultHandshakeRate  = 5
	DefaultHandshakeBurst = 10
	serverTick            = 20 * time.Millisecond // retransmission timer granularity
	handoffQueue          = 4096                  // messages waiting for the handler chain
)

// Stats counts what a Server has done, for tests and operators.
type Stats struct {
	Received  uint64 // datagrams read
	Dropped   uint64 // datagrams dropped as invalid, unauthentic, replayed or unexpected
	Accepted  uint64 // chat messages accepted (and acknowledged)
	Relayed   uint64 // DATA datagrams sent to recipients, retransmissions included
	Bundled   uint64 // version 2 DATA that carry a bundle of messages (core.Bundler)
	Sessions  int    // sessions now
	Handshake uint64 // sessions started
	Cookies   uint64 // COOKIE answers sent, under load
}

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
	chain  core.Handler
	codecs []core.Codec // Codec first
	v2     bool         // version 2 is spoken: the server has an identity
	suites []core.Suite // version 2 preference order
	maxV1  int          // the longest version 1 plaintext that fits in a datagram, in any codec
	maxV2  int          // the same for version 2

	sessions *sessionTable
	history  *history
	nextMsg  atomic.Uint64

	pendingMu sync.Mutex
	pending   map[*session]struct{} // sessions with DATA in flight

	work chan handoff // to the handler chain's worker, while Serve runs

	halfOpen   atomic.Int64 // version 2 sessions not yet confirmed
	handshakes ratelimit.Sources
	cookies    cookieJar
	gathered   presenceQueue // announcements gathered in a large room

	outboxes sync.Pool // of *outbox, for fan-outs
	bundles  sync.Pool // of *[]byte, a bundle's plaintext while it is sealed

	// The read loop's decoded packet and its payload's storage, reused.
	scratch core.ScratchDecoder

	received, dropped, accepted, relayed, bundled, started, cookied atomic.Uint64
}

// New checks cfg and returns a Server ready to Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Transport == nil || cfg.Codec == nil || cfg.Suite == nil || cfg.Reliability == nil {
		return nil, errors.New("core: server needs a transport, a codec, a suite and a reliability layer")
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.MaxHalfOpen <= 0 {
		cfg.MaxHalfOpen = max(cfg.MaxSessions/4, 1)
	}
	if cfg.CookieThreshold == 0 {
		cfg.CookieThreshold = max(cfg.MaxHalfOpen/8, 1)
	}
	if cfg.HandshakeRate == 0 {
		cfg.HandshakeRate = DefaultHandshakeRate
	}
	if cfg.HandshakeRate < 0 {
		cfg.HandshakeRate = rate.Inf
	}
	if cfg.HandshakeBurst <= 0 {
		cfg.HandshakeBurst = DefaultHandshakeBurst
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.History == 0 {
		cfg.History = DefaultHistory
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.V1Reliability == nil {
		cfg.V1Reliability = cfg.Reliability
	}
	if cfg.RecipientQueue <= 0 {
		cfg.RecipientQueue = DefaultRecipientQueue
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Rate < 0 {
		cfg.Rate = rate.Inf
	}
	cfg.Env = cfg.Env.WithDefaults()
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		sessions: newSessionTable(),
		history:  newHistory(max(cfg.History, 0)),
		pending:  make(map[*session]struct{}),
		codecs:   append([]core.Codec{cfg.Codec}, cfg.Codecs...),
		suites:   append(append([]core.Suite(nil), cfg.Suites...), cfg.Suite),
		v2:       cfg.Identity != nil,
		maxV1:    core.MaxDatagram,
		maxV2:    core.MaxDatagram,
	}
	for _, c := range s.codecs {
		s.maxV1 = min(s.maxV1, core.MaxPlaintext(c, cfg.Suite, core.BroadcastHeader))
		for _, suite := range s.suites {
			s.maxV2 = min(s.maxV2, core.MaxPlaintext(c, suite, core.V2DataHeader))
		}
	}
	s.drops.Logger = cfg.Logger
	s.chain = core.Chain(core.HandlerFunc(s.deliver), append([]core.Middleware{s.commands}, cfg.Handlers...)...)
	return s, nil
}

// Addr is the address the server's transport is bound to.
func (s *Server) Addr() netip.AddrPort { return s.cfg.Transport.LocalAddr() }

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Received:  s.received.Load(),
		Dropped:   s.dropped.Load(),
		Accepted:  s.accepted.Load(),
		Relayed:   s.relayed.Load(),
		Bundled:   s.bundled.Load(),
		Sessions:  s.sessions.len(),
		Handshake: s.started.Load(),
		Cookies:   s.cookied.Load(),
	}
}

// Serve reads and handles datagrams until ctx is done, then closes the
// transport and returns nil once every goroutine it started has ended. It
// returns an error if the transport fails.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(ctx, func() { s.cfg.Transport.Close() })
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { s.timers(ctx) })
	s.work = make(chan handoff, handoffQueue)
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case h := <-s.work:
				s.runHandoff(ctx, h)
			}
		}
	})
	defer wg.Wait()
	defer cancel()

	var names []string
	for _, c := range s.codecs {
		names = append(names, c.Name())
	}
	attrs := []any{"addr", s.Addr().String(), "codec", strings.Join(names, ","),
		"suite", s.cfg.Suite.Name(), "reliability", s.cfg.Reliability.Name()}
	if s.v2 {
		attrs = append(attrs, "protocol", "1,2")
	} else {
		attrs = append(attrs, "protocol", "1")
	}
	s.log.Info("server ready", attrs...)
	return s.readLoop(ctx)
}

// readLoop reads and handles datagrams until the transport fails or ctx is
// done. Over a BatchTransport a burst of datagrams (ACKs from a room,
// mostly) is read in one system call, and what they cause (the next DATA to
// each recipient) is sent in one.
func (s *Server) readLoop(ctx context.Context) error {
	read, size := s.readOne, 1
	bt, batched := s.cfg.Transport.(core.BatchTransport)
	if batched {
		read, size = bt.ReadBatch, batchSize
	}
	dgs := make([]core.Datagram, size)
	for i := range dgs {
		dgs[i].B = make([]byte, 0, core.MaxDatagram+1) // one byte more, to see an oversize datagram
	}
	out := s.newOutbox()
	for {
		for i := range dgs {
			dgs[i].B = dgs[i].B[:cap(dgs[i].B)]
		}
		n, err := read(dgs)
		if err != nil {
			if ctx.Err() != nil {
				s.log.Info("server stopped")
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("core: server transport closed: %w", err)
			}
			s.log.Warn("read failed", "err", err)
			continue
		}
		for _, d := range dgs[:n] {
			s.handle(ctx, d.B, d.Addr, out)
		}
		out.flush()
	}
}

// readOne reads one datagram into dgs[0], for a transport without batches.
func (s *Server) readOne(dgs []core.Datagram) (int, error) {
	n, from, err := s.cfg.Transport.ReadFrom(dgs[0].B)
	if err != nil {
		return 0, err
	}
	dgs[0].B, dgs[0].Addr = dgs[0].B[:n], from
	return 1, nil
}

// HandleDatagram processes one datagram as if Serve had read it from from. It
// is the entry point every hostile byte goes through; tests and fuzz targets
// call it directly. It must not be called concurrently with itself.
func (s *Server) HandleDatagram(ctx context.Context, b []byte, from netip.AddrPort) {
	s.handle(ctx, b, from, nil)
}

// handle is HandleDatagram, sending what the datagram causes through out
// when it is not nil.
func (s *Server) handle(ctx context.Context, b []byte, from netip.AddrPort, out *outbox) {
	s.received.Add(1)
	if len(b) > core.MaxDatagram {
		s.drop(from, "oversize datagram", fmt.Errorf("%d bytes, at most %d", len(b), core.MaxDatagram))
		return
	}
	codec := s.codecOf(b)
	p, err := s.scratch.Decode(codec, b)
	if err != nil {
		s.drop(from, "undecodable", err)
		return
	}
	if p.Type == core.TypeKeyReq {
		p.Payload = bytes.Clone(p.Payload) // the handshake may keep it; it is rare
		s.handleKeyReq(ctx, codec, p, from, len(b))
		return
	}
	if p.Session != 0 {
		s.handleV2(ctx, codec, p, from, len(b), out)
		return
	}
	switch p.Type {
	case core.TypeData:
		s.handleV1Data(ctx, codec, p, from)
	default:
		s.drop(from, "unexpected packet type", errors.New(p.Type.String()))
	}
}

func (s *Server) drop(from netip.AddrPort, reason string, err error) {
	s.dropped.Add(1)
	s.drops.Drop(s.cfg.Now(), from, reason, err)
}

// write sends one datagram, refusing any that its receiver could not read
// whole.
func (s *Server) write(dg []byte, to netip.AddrPort) bool {
	if len(dg) > core.MaxDatagram {
		s.log.Error("datagram too large, not sent", "to", to.String(), "bytes", len(dg))
		return false
	}
	if _, err := s.cfg.Transport.WriteTo(dg, to); err != nil {
		s.log.Warn("write failed", "to", to.String(), "err", err)
		return false
	}
	return true
}

// codecOf picks the codec a datagram is written in.
func (s *Server) codecOf(b []byte) core.Codec {
	if len(s.codecs) > 1 {
		for _, c := range s.codecs {
			if sn, ok := c.(core.Sniffer); ok && sn.Sniff(b) {
				return c
			}
		}
	}
	return s.cfg.Codec
}

// batchSize is the most datagrams read or written in one system call.
const batchSize = 64

// outbox gathers datagrams to send in batches, on a BatchTransport; it
// belongs to one goroutine. A nil *outbox sends each at once.
type outbox struct {
	s   *Server
	bt  core.BatchTransport
	dgs []core.Datagram
}

// newOutbox returns an outbox for the server's transport, or nil if it
// cannot send batches. One made for a single fan-out goes back with
// release: there is one for every message.
func (s *Server) newOutbox() *outbox {
	bt, ok := s.cfg.Transport.(core.BatchTransport)
	if !ok {
		return nil
	}
	if o, ok := s.outboxes.Get().(*outbox); ok {
		return o
	}
	return &outbox{s: s, bt: bt, dgs: make([]core.Datagram, 0, batchSize)}
}

// release sends what the outbox holds and returns it to the server's pool.
func (o *outbox) release() {
	if o == nil {
		return
	}
	o.flush()
	o.s.outboxes.Put(o)
}

// send sends dg to to, now or with the batch; it reports false if dg
// cannot be sent.
func (o *outbox) send(s *Server, dg []byte, to netip.AddrPort) bool {
	if o == nil {
		return s.write(dg, to)
	}
	if len(dg) > core.MaxDatagram {
		return s.write(dg, to) // refused and logged there
	}
	o.dgs = append(o.dgs, core.Datagram{B: dg, Addr: to})
	if len(o.dgs) == cap(o.dgs) {
		o.flush()
	}
	return true
}

// flush sends what the outbox holds.
func (o *outbox) flush() {
	if o == nil || len(o.dgs) == 0 {
		return
	}
	if _, err := o.bt.WriteBatch(o.dgs); err != nil {
		o.s.log.Warn("write failed", "datagrams", len(o.dgs), "err", err)
	}
	clear(o.dgs) // the datagrams belong to their senders
	o.dgs = o.dgs[:0]
}

// encode encodes p in codec c, logging what cannot be.
func (s *Server) encode(c core.Codec, p *core.Packet) []byte {
	dg, err := c.Append(nil, p)
	if err != nil {
		s.log.Error("encode failed", "packet", p.String(), "err", err)
		return nil
	}
	return dg
}

// timers drives retransmissions and idle eviction until ctx is done.
func (s *Server) timers(ctx context.Context) {
	t := time.NewTicker(serverTick)
	defer t.Stop()
	lastEvict := s.cfg.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := s.cfg.Now()
		s.pendingMu.Lock()
		due := make([]*session, 0, len(s.pending))
		for sess := range s.pending {
			due = append(due, sess)
		}
		s.pendingMu.Unlock()
		for _, sess := range due {
			sess.mu.Lock()
			dead := !sess.sndNext.IsZero() && !now.Before(sess.sndNext) && s.pollLocked(sess, now, nil)
			if sess.sndNext.IsZero() && sess.onTimer {
				sess.onTimer = false
				s.pendingMu.Lock()
				delete(s.pending, sess)
				s.pendingMu.Unlock()
			}
			sess.mu.Unlock()
			if dead {
				s.endSession(ctx, sess, "timed out")
			}
		}
		s.flushPresence(ctx, now, false)
		if now.Sub(lastEvict) >= time.Second/4 {
			lastEvict = now
			s.evictIdle(ctx, now)
		}
	}
}

// evictIdle ends sessions that have been silent too long, so that presence
// is right and the server does not send to every address that ever joined,
// as the seed does.
func (s *Server) evictIdle(ctx context.Context, now time.Time) {
	for _, sess := range s.sessions.all(0) {
		timeout := s.cfg.IdleTimeout
		if sess.version < 2 {
			timeout = s.cfg.V1IdleTimeout
		}
		if timeout > 0 && now.Sub(time.Unix(0, sess.lastSeen.Load())) > timeout {
			s.endSession(ctx, sess, "timed out")
		}
	}
}
