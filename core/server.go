package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// ServerConfig wires a Server. Transport, Codec, Suite and Reliability are
// required; the rest have defaults.
type ServerConfig struct {
	Transport         Transport
	Codec             Codec
	Suite             Suite
	Reliability       Reliability
	ReliabilityConfig ReliabilityConfig

	// Handlers see every chat message, in order, before it reaches the room.
	Handlers []Middleware

	// MaxSessions caps the sessions the server keeps; a KEY_REQ beyond it is
	// dropped. Default 4096.
	MaxSessions int
	// IdleTimeout ends a session that has sent nothing for that long; zero
	// keeps sessions until they are replaced.
	IdleTimeout time.Duration

	Env
}

// DefaultMaxSessions is the session cap when ServerConfig leaves it zero.
const DefaultMaxSessions = 4096

// ServerStats counts what a Server has done, for tests and operators.
type ServerStats struct {
	Received  uint64 // datagrams read
	Dropped   uint64 // datagrams dropped as invalid, unauthentic, replayed or unexpected
	Accepted  uint64 // chat messages accepted (and acknowledged)
	Relayed   uint64 // DATA datagrams sent to recipients
	Sessions  int    // sessions now
	Handshake uint64 // sessions started
}

// Server is the chat server engine: it owns a transport and the sessions of
// the clients that talk to it.
//
// Datagrams are handled one at a time, in arrival order, by Serve's read loop,
// so a session's messages are processed strictly in sequence: the seed's race,
// in which an ACK went out before the expected seq advanced, cannot happen.
type Server struct {
	cfg      ServerConfig
	log      *slog.Logger
	drops    dropLog
	chain    Handler
	maxPlain int // the longest broadcast plaintext that fits in a datagram

	mu       sync.RWMutex
	sessions map[netip.AddrPort]*session
	nextID   uint64

	received, dropped, accepted, relayed, handshakes atomic.Uint64
}

// session is one client's state on the server.
type session struct {
	id    uint64
	addr  netip.AddrPort
	name  string
	hello []byte // the KEY_REQ payload, to recognise a retried handshake
	reply []byte // the KEY_REP datagram, sent again for a retried handshake
	keys  SessionKeys
	recv  Receiver
	tags  tagSet // owned by the read loop

	lastSeen atomic.Int64 // unix nanoseconds
}

// NewServer checks cfg and returns a Server ready to Serve.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Transport == nil || cfg.Codec == nil || cfg.Suite == nil || cfg.Reliability == nil {
		return nil, errors.New("core: server needs a transport, a codec, a suite and a reliability layer")
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	cfg.Env = cfg.Env.withDefaults()
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		sessions: make(map[netip.AddrPort]*session),
		maxPlain: maxPlaintext(cfg.Codec, cfg.Suite, broadcastHeader),
	}
	s.drops.log = cfg.Logger
	s.chain = Chain(HandlerFunc(s.broadcast), cfg.Handlers...)
	return s, nil
}

// Addr is the address the server's transport is bound to.
func (s *Server) Addr() netip.AddrPort { return s.cfg.Transport.LocalAddr() }

// Stats returns the server's counters.
func (s *Server) Stats() ServerStats {
	s.mu.RLock()
	n := len(s.sessions)
	s.mu.RUnlock()
	return ServerStats{
		Received:  s.received.Load(),
		Dropped:   s.dropped.Load(),
		Accepted:  s.accepted.Load(),
		Relayed:   s.relayed.Load(),
		Sessions:  n,
		Handshake: s.handshakes.Load(),
	}
}

// Serve reads and handles datagrams until ctx is done, then closes the
// transport and returns nil once every goroutine it started has ended. It
// returns an error if the transport fails.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { s.cfg.Transport.Close() })
	defer stop()

	var wg sync.WaitGroup
	if s.cfg.IdleTimeout > 0 {
		wg.Go(func() { s.evictIdle(ctx) })
	}
	defer wg.Wait()
	defer cancel()

	s.log.Info("server ready", "addr", s.Addr().String(), "codec", s.cfg.Codec.Name(),
		"suite", s.cfg.Suite.Name(), "reliability", s.cfg.Reliability.Name())
	buf := make([]byte, MaxDatagram+1) // one byte more, to see an oversize datagram
	for {
		n, from, err := s.cfg.Transport.ReadFrom(buf)
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
		s.HandleDatagram(ctx, buf[:n], from)
	}
}

// HandleDatagram processes one datagram as if Serve had read it from from. It
// is the entry point every hostile byte goes through; tests and fuzz targets
// call it directly. It must not be called concurrently with itself.
func (s *Server) HandleDatagram(ctx context.Context, b []byte, from netip.AddrPort) {
	s.received.Add(1)
	if len(b) > MaxDatagram {
		s.drop(from, "oversize datagram", fmt.Errorf("%d bytes, at most %d", len(b), MaxDatagram))
		return
	}
	p, err := s.cfg.Codec.Decode(b)
	if err != nil {
		s.drop(from, "undecodable", err)
		return
	}
	switch p.Type {
	case TypeKeyReq:
		s.handleKeyReq(p, from)
	case TypeData:
		s.handleData(ctx, p, from)
	default:
		s.drop(from, "unexpected packet type", errors.New(p.Type.String()))
	}
}

func (s *Server) drop(from netip.AddrPort, reason string, err error) {
	s.dropped.Add(1)
	s.drops.drop(s.cfg.Now(), from, reason, err)
}

func (s *Server) lookup(addr netip.AddrPort) *session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sessions[addr]
}

// handleKeyReq starts a session, or answers a retried KEY_REQ with the same
// KEY_REP, so that client and server never disagree about the key (the seed
// gives a retry a new key and keeps it, while its client keeps the first).
func (s *Server) handleKeyReq(p *Packet, from netip.AddrPort) {
	old := s.lookup(from)
	if old != nil && string(old.hello) == string(p.Payload) {
		old.lastSeen.Store(s.cfg.Now().UnixNano())
		s.write(old.reply, from)
		return
	}
	s.mu.RLock()
	full := old == nil && len(s.sessions) >= s.cfg.MaxSessions
	s.mu.RUnlock()
	if full {
		s.drop(from, "session cap reached", fmt.Errorf("%d sessions", s.cfg.MaxSessions))
		return
	}
	reply, keys, err := s.cfg.Suite.Respond(s.cfg.Rand, p.Payload)
	if err != nil {
		s.drop(from, "bad KEY_REQ", err)
		return
	}
	dg, err := s.cfg.Codec.Append(nil, &Packet{Type: TypeKeyRep, Payload: reply})
	if err != nil {
		s.log.Error("encode KEY_REP", "err", err)
		return
	}
	sess := &session{
		addr:  from,
		name:  from.String(),
		hello: p.Payload,
		reply: dg,
		keys:  keys,
		recv:  s.cfg.Reliability.NewReceiver(s.cfg.ReliabilityConfig),
	}
	sess.lastSeen.Store(s.cfg.Now().UnixNano())
	s.mu.Lock()
	s.nextID++
	sess.id = s.nextID
	s.sessions[from] = sess
	s.mu.Unlock()
	s.handshakes.Add(1)
	if old != nil {
		// A client restarted on the same port: the seed ignores it forever.
		s.log.Info("session replaced by a new key from the same address", "addr", sess.name, "old", old.id, "session", sess.id)
	} else {
		s.log.Info("session started", "addr", sess.name, "session", sess.id)
	}
	s.write(dg, from)
}

// handleData takes a client's DATA: in sequence, authentic and new, it is
// handed to the handler chain and then acknowledged. Only what was accepted is
// acknowledged, so a sender never believes a dropped message arrived.
func (s *Server) handleData(ctx context.Context, p *Packet, from netip.AddrPort) {
	sess := s.lookup(from)
	if sess == nil {
		s.drop(from, "DATA from an address with no session", nil)
		return
	}
	if !p.HasSeq {
		s.drop(from, "DATA without seq", nil)
		return
	}
	switch sess.recv.Classify(p.Seq) {
	case ArrivalDuplicate:
		// Our ACK was lost and the client sent it again: acknowledge it again,
		// deliver nothing.
		s.log.Debug("duplicate DATA acknowledged again", "session", sess.id, "seq", p.Seq)
		s.ack(sess, p.Seq)
		return
	case ArrivalOutOfOrder:
		s.drop(from, "DATA out of order", fmt.Errorf("seq %d", p.Seq))
		return
	}
	tag := sess.keys.Tag(p.Payload)
	if sess.tags.seen(tag) {
		s.drop(from, "replayed payload", ErrReplay)
		return
	}
	plain, err := sess.keys.Open(nil, p.Payload, nil)
	if err != nil {
		s.drop(from, "DATA failed to open", err)
		return
	}
	sess.tags.add(tag)
	sess.recv.Accept(p.Seq)
	sess.lastSeen.Store(s.cfg.Now().UnixNano())
	s.accepted.Add(1)

	m := &Message{Kind: KindChat, From: sess.name, Text: string(plain), Time: s.cfg.Now(), Origin: sess.id}
	if !utf8.Valid(plain) {
		err = &Rejection{Reason: "message is not valid UTF-8"}
	} else {
		err = s.chain.HandleMessage(ctx, m)
	}
	if err != nil {
		reason, ok := RejectionReason(err)
		if !ok {
			s.log.Error("handler failed", "session", sess.id, "err", err)
			reason = "the server could not handle your message"
		}
		s.notify(sess, KindError, reason)
	}
	s.ack(sess, p.Seq)
}

// broadcast is the last handler of the chain: it delivers m to every session
// but its sender.
func (s *Server) broadcast(_ context.Context, m *Message) error {
	text := m.V1Text()
	if len(text) > s.maxPlain {
		return &Rejection{Reason: fmt.Sprintf("message too long: %d bytes, at most %d fit in a datagram",
			len(m.Text), s.maxPlain-(len(text)-len(m.Text)))}
	}
	s.mu.RLock()
	to := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		if sess.id != m.Origin {
			to = append(to, sess)
		}
	}
	s.mu.RUnlock()
	for _, sess := range to {
		s.deliver(sess, text)
	}
	return nil
}

// notify sends the server's own message to one session.
func (s *Server) notify(sess *session, kind MessageKind, text string) {
	m := Message{Kind: kind, From: SystemSender, Text: text}
	s.deliver(sess, m.V1Text())
}

// deliver seals plaintext for sess and sends it. Version 1 broadcasts are best
// effort: the seed's clients do not acknowledge them.
func (s *Server) deliver(sess *session, plaintext string) {
	sealed, err := sess.keys.Seal(nil, []byte(plaintext), nil)
	if err != nil {
		s.log.Error("seal failed", "session", sess.id, "err", err)
		return
	}
	dg, err := s.cfg.Codec.Append(nil, &Packet{Type: TypeData, Payload: sealed})
	if err != nil {
		s.log.Error("encode DATA", "session", sess.id, "err", err)
		return
	}
	if s.write(dg, sess.addr) {
		s.relayed.Add(1)
	}
}

func (s *Server) ack(sess *session, seq uint64) {
	dg, err := s.cfg.Codec.Append(nil, &Packet{Type: TypeAck, AckSeq: seq, HasAckSeq: true})
	if err != nil {
		s.log.Error("encode ACK", "err", err)
		return
	}
	s.write(dg, sess.addr)
}

// write sends one datagram, refusing any that its receiver could not read
// whole.
func (s *Server) write(dg []byte, to netip.AddrPort) bool {
	if len(dg) > MaxDatagram {
		s.log.Error("datagram too large, not sent", "to", to.String(), "bytes", len(dg))
		return false
	}
	if _, err := s.cfg.Transport.WriteTo(dg, to); err != nil {
		s.log.Warn("write failed", "to", to.String(), "err", err)
		return false
	}
	return true
}

// evictIdle ends sessions that have been silent for IdleTimeout, so that the
// server does not broadcast to every address that ever joined, as the seed does.
func (s *Server) evictIdle(ctx context.Context) {
	every := min(s.cfg.IdleTimeout/4, time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cutoff := s.cfg.Now().Add(-s.cfg.IdleTimeout).UnixNano()
		s.mu.Lock()
		for addr, sess := range s.sessions {
			if sess.lastSeen.Load() < cutoff {
				delete(s.sessions, addr)
				s.log.Info("session ended: idle", "addr", sess.name, "session", sess.id, "idle_timeout", s.cfg.IdleTimeout)
			}
		}
		s.mu.Unlock()
	}
}
