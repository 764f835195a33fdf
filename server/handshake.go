package server

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"slices"

	"golang.org/x/time/rate"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
)

// handleKeyReq starts a session, or answers a retried KEY_REQ with the same
// KEY_REP, so that client and server never disagree about the key (the seed
// gives a retry a new key and keeps it, while its client keeps the first). A
// KEY_REQ without the version 2 fields is a seed client, spoken to in pure
// version 1 for its whole session.
//
// No answer is larger than the KEY_REQ it answers: an address that has not
// completed a handshake may be spoofed, and the server must not be a way to
// send it more than was sent from it.
func (s *Server) handleKeyReq(ctx context.Context, codec core.Codec, p *core.Packet, from netip.AddrPort, size int) {
	now := s.cfg.Now()
	old := s.sessions.addr(from)
	if old != nil && old.hello == helloHash(p) {
		if old.reply == nil {
			s.drop(from, DropUnexpected, "KEY_REQ for a handshake already completed", nil)
			return
		}
		if len(old.reply) > size {
			s.drop(from, DropAmplification, "KEY_REQ smaller than its answer: not amplifying", fmt.Errorf("%d bytes in, %d out", size, len(old.reply)))
			return
		}
		// Answered from the session already made, with no new key work,
		// and not touched: a KEY_REQ is no proof, and a session that
		// never confirms must end IdleTimeout after it began, however
		// often its KEY_REQ is sent again (issue 15).
		s.write(old.reply, from)
		return
	}
	if old == nil && s.sessions.len() >= s.cfg.MaxSessions && !s.evictUnproven() {
		s.drop(from, DropLimit, "session cap reached", fmt.Errorf("%d sessions", s.cfg.MaxSessions))
		return
	}
	if old == nil {
		if err := s.sessions.roomFor(from.Addr(), s.cfg.MaxSessionsPerAddr, s.cfg.MaxSessionsPerPrefix); err != nil {
			s.drop(from, DropLimit, "per-address session cap reached", err)
			return
		}
	}
	// A KEY_REQ that would end a proven version 2 session must come from
	// its address, not merely claim to: otherwise one spoofed datagram
	// would end someone's session.
	replacing := old != nil && old.version >= 2 && old.confirmed.Load()
	if replacing && p.Version < 2 {
		s.drop(from, DropUnexpected, "version 1 KEY_REQ for the address of a version 2 session", nil)
		return
	}
	if p.Version >= 2 && s.v2 && (replacing || s.underLoad()) && !s.cookies.valid(now, s.cfg.Rand, from, p.Cookie) {
		s.sendCookie(codec, from, size)
		return
	}
	if p.Version >= 2 && s.halfOpen.Load() >= int64(s.cfg.MaxHalfOpen) {
		s.drop(from, DropLimit, "too many unconfirmed handshakes", fmt.Errorf("%d", s.cfg.MaxHalfOpen))
		return
	}
	if hl := s.live.Load().handshake; hl.On() && !s.handshakes.Allow(from.Addr(), now, hl.limit(), hl.Burst) {
		s.drop(from, DropLimit, "too many handshakes from this address", nil)
		return
	}
	id, err := s.newSessionID()
	if err != nil {
		s.log.Error("no session id", "err", err)
		return
	}
	msgs, _ := codec.(core.MessageCodec)
	v2 := p.Version >= 2 && s.v2 && msgs != nil
	suite, hs := s.cfg.Suite, core.Handshake{Version: 1}
	if v2 {
		if suite = s.chooseSuite(p.Suites); suite == nil {
			s.drop(from, DropHandshake, "KEY_REQ offers no suite the server speaks", fmt.Errorf("offered %q", p.Suites))
			return
		}
		hs = core.Handshake{Version: 2, SessionID: id}
	}
	var key ed25519.PublicKey
	if v2 {
		// Checked before the suite's work: a key it cannot prove is no
		// handshake, and costs a signature check, far less than the RSA.
		if key, err = clientKey(p); err != nil {
			s.drop(from, DropUnauthentic, "KEY_REQ claims a client key it does not prove", err)
			return
		}
	}
	// A banned key or address gets no session: after the key's proof, so
	// that nobody is banned by a key they merely named.
	if ban, ok := s.bans.Match(now, key, from.Addr(), ""); ok {
		s.drop(from, DropBanned, "KEY_REQ from a banned client", fmt.Errorf("%s", ban))
		return
	}
	reply, keys, err := suite.Respond(s.cfg.Rand, p.Payload, hs)
	if err != nil {
		s.drop(from, DropHandshake, "bad KEY_REQ", err)
		return
	}
	sess := &session{
		id:      id,
		version: hs.Version,
		codec:   codec,
		suite:   suite,
		hello:   helloHash(p),
		key:     key,
		keys:    keys,
		joined:  now,
		lane:    uint8(s.laneTurn.Add(1)),
		addr:    from,
		name:    from.String(),
		recv:    s.cfg.V1Reliability.NewReceiver(s.cfg.ReliabilityConfig),
		cursor:  cursor{r: s.lobby},
	}
	if rl := s.live.Load().rate; rl.On() {
		sess.limiter = rate.NewLimiter(rl.limit(), rl.Burst)
	}
	sess.touch(now)
	var nickProblem string
	var ghost *session // the session a valid Resume carries on, still here
	resume, resuming := s.checkResume(p, v2, from)
	if resuming {
		if g := s.sessions.id(resume.Session); g != nil && g.version >= 2 && g != old {
			ghost = g
		}
	}
	rep := &core.Packet{Type: core.TypeKeyRep, Payload: reply}
	if v2 {
		sess.msgs = msgs
		sess.recv = s.cfg.Reliability.NewReceiver(s.cfg.ReliabilityConfig)
		// The server gives up on a client (IdleTimeout), never on a
		// message to it: one lost message would leave the client's
		// receiver waiting for ever, so it is sent until acknowledged,
		// backing off up to RetransmitCap.
		rc := s.cfg.ReliabilityConfig
		rc.Queue = s.cfg.RecipientQueue
		rc.Persist, rc.MaxRTO = true, s.cfg.RetransmitCap
		sess.snd = s.cfg.Reliability.NewSender(rc)
		sess.build = func(seq uint64) ([]byte, error) { return s.buildData(sess, seq) }
		sess.bundler, _ = msgs.(core.Bundler)
		sess.flow, _ = sess.snd.(core.Flow)
		// The client is in the room from now: what is said while it
		// proves its keys is sent to it then, as live messages.
		sess.epoch, sess.liveFrom = s.lobby.epoch.Load(), s.lobby.head.Load()
		holder := old
		if ghost != nil {
			holder = ghost
		}
		sess.name, nickProblem = s.pickNick(p.Nick, holder, key)
		pub := s.cfg.Identity.Public().(ed25519.PublicKey)
		rep.Version, rep.Session, rep.Suite, rep.Nick, rep.ServerKey = 2, id, suite.Name(), sess.name, pub
		rep.Sig = identity.Sign(s.cfg.Identity, identity.Transcript{
			Hello: p.Payload, Reply: reply, Suites: p.Suites, Nick: sess.name,
			Suite: suite.Name(), SessionID: id, ServerKey: pub, ClientKey: key,
		})
	}
	if !v2 {
		// Where it joined: what the room says from here until its first
		// DATA proves its address is shown to it then (sendV1Catchup).
		sess.epoch, sess.liveFrom = s.lobby.epoch.Load(), s.lobby.head.Load()
	}
	if sess.reply = s.encode(codec, rep); sess.reply == nil {
		return
	}
	if len(sess.reply) > size {
		s.drop(from, DropAmplification, "KEY_REQ smaller than its answer: not amplifying", fmt.Errorf("%d bytes in, %d out", size, len(sess.reply)))
		return
	}
	replaced := s.sessions.add(sess)
	s.started.Add(1)
	if sess.version >= 2 {
		s.halfOpen.Add(1)
	}
	s.log.Info("session started", "addr", from.String(), "session", fmt.Sprintf("%016x", id),
		"version", hs.Version, "suite", suite.Name(), "name", sess.name)
	s.write(sess.reply, from)

	// The channels of the session a resume carries on, taken before it is
	// retired, which takes it out of them.
	var chans []cursor
	var current *room
	if carried := ghost; resuming {
		if carried == nil && replaced != nil && replaced.id == resume.Session {
			carried = replaced
		}
		if carried != nil {
			carried.mu.Lock()
			for _, c := range carried.chans {
				// From what its client acknowledged: what was on its
				// way is sent again (the client drops what it showed).
				cc := *c
				cc.next = max(c.acked, 1)
				chans = append(chans, cc)
			}
			current = carried.current
			carried.mu.Unlock()
		}
	}
	replacedJoined := false
	if replaced != nil {
		// A client restarted on the same port: the seed ignored it forever.
		s.log.Info("session replaced by a new key from the same address", "addr", from.String())
		_, replacedJoined = s.retire(replaced)
		if replacedJoined && replaced.name != sess.name {
			s.presence(ctx, sess.id, replaced.name, "left")
			s.observe(ctx, core.RoomEvent{Kind: core.EventLeave, Name: replaced.name, Why: "left"})
		}
	}
	ghostJoined := false
	if ghost != nil && s.sessions.remove(ghost) {
		// Its client is back, with the proof: the ghost goes at once,
		// whatever address either came from, rather than hold the
		// nickname until it times out.
		s.log.Info("session resumed: the one it carries on ends", "session", fmt.Sprintf("%016x", id),
			"resumed", fmt.Sprintf("%016x", ghost.id))
		_, ghostJoined = s.retire(ghost)
		if ghostJoined && ghost.name != sess.name {
			s.presence(ctx, sess.id, ghost.name, "left")
			s.observe(ctx, core.RoomEvent{Kind: core.EventLeave, Name: ghost.name, Why: "left"})
		}
	}
	sess.welcome = welcome{
		announce:    (!replacedJoined || replaced.name != sess.name) && (!ghostJoined || ghost.name != sess.name),
		history:     !replacedJoined && !resuming,
		nickProblem: nickProblem,
		chans:       chans,
		current:     current,
	}
	if resuming {
		sess.welcome.resume = &resume
		carried := ghost
		if carried == nil && replaced != nil && replaced.id == resume.Session {
			carried = replaced // it resumed from the same address
		}
		if carried != nil {
			carried.mu.Lock()
			sess.welcome.carried, sess.welcome.carriedEpoch, sess.welcome.carriedFrom = true, carried.epoch, carried.liveFrom
			sess.resumed[1] = carried.resumed[0] // a client that lost two sessions before it was shown anything new
			carried.mu.Unlock()
		}
	}
	// A seed client is confirmed by its first authentic DATA
	// (handleV1Data), a version 2 client by its first authentic packet:
	// until then its address may be a spoofed victim's, sent nothing but
	// the KEY_REP (issue 15: a version 1 KEY_REQ was answered with the
	// whole history, 123 times its size).
}

// evictUnproven ends the oldest session that has not proven its address,
// to make room for a new handshake at MaxSessions, and reports whether
// there was one. Addresses can be forged by the thousand, and version 1
// takes no cookie, so unproven sessions must not keep out the clients
// that prove theirs: only sessions of real addresses fill the table for
// good. The evicted one is told nothing (it may be a spoofed victim's),
// and the room never heard of it.
func (s *Server) evictUnproven() bool {
	var oldest *session
	for _, sess := range s.sessions.all(0) {
		if !sess.confirmed.Load() && (oldest == nil || sess.joined.Before(oldest.joined)) {
			oldest = sess
		}
	}
	if oldest == nil || !s.sessions.remove(oldest) {
		return false
	}
	oldest.mu.Lock()
	addr := oldest.addr
	oldest.mu.Unlock()
	s.retire(oldest)
	s.log.Info("unproven session evicted for a new handshake", "addr", addr.String(),
		"session", fmt.Sprintf("%016x", oldest.id))
	return true
}

// underLoad reports whether version 2 handshakes must bring a cookie.
func (s *Server) underLoad() bool {
	return s.cfg.CookieThreshold < 0 || s.halfOpen.Load() >= int64(s.cfg.CookieThreshold)
}

// sendCookie answers a version 2 KEY_REQ with the cookie for its address,
// at the cost of one MAC: nothing is remembered, and the answer, far smaller
// than any KEY_REQ, is never larger than the datagram it answers.
func (s *Server) sendCookie(codec core.Codec, from netip.AddrPort, size int) {
	cookie, err := s.cookies.make(s.cfg.Now(), s.cfg.Rand, from)
	if err != nil {
		s.log.Error("no cookie", "err", err)
		return
	}
	dg := s.encode(codec, &core.Packet{Type: core.TypeCookie, Cookie: cookie})
	if dg == nil || len(dg) > size {
		s.drop(from, DropAmplification, "KEY_REQ smaller than its cookie: not amplifying", nil)
		return
	}
	// Counted before it is sent, so that whoever reads the COOKIE finds it
	// in Stats (TestCookieRoundTrip did not, once in a while).
	s.cookied.Add(1)
	if !s.write(dg, from) {
		s.cookied.Add(^uint64(0))
	}
}

// confirm admits sess to the room, once: it is told of the room (history,
// a nickname problem) and the room of it.
func (s *Server) confirm(ctx context.Context, sess *session) {
	if sess.confirmed.Swap(true) {
		return
	}
	if sess.version >= 2 {
		s.halfOpen.Add(-1)
		sess.reply = nil // it has the keys
	}
	s.claimNick(ctx, sess)
	w := sess.welcome
	if sess.version >= 2 {
		s.placeCursor(ctx, sess, w)
	}
	w = sess.welcome
	if motd := s.live.Load().motd; w.history && motd != "" {
		s.notify(sess, core.KindSystem, motd)
	}
	if w.announce {
		s.presence(ctx, sess.id, sess.name, "joined")
		s.observe(ctx, core.RoomEvent{Kind: core.EventJoin, Name: sess.name})
	}
	if w.nickProblem != "" {
		s.notify(sess, core.KindError, w.nickProblem)
	}
	if sess.version >= 2 {
		s.fill(ctx, sess, nil) // the history, what it missed, the notices
		return
	}
	s.sendV1Catchup(ctx, sess, w.history)
}

// checkResume returns the Resume of a version 2 KEY_REQ and true if its
// proof holds: it was made with the resume token of the session it names,
// for this very KEY_REQ. A Resume that does not hold is ignored (the
// client joins as anyone would) and logged.
func (s *Server) checkResume(p *core.Packet, v2 bool, from netip.AddrPort) (core.Resume, bool) {
	if !v2 || len(p.Resume) == 0 {
		return core.Resume{}, false
	}
	r, err := core.ParseResume(p.Resume)
	if err != nil {
		s.drops.Drop(s.cfg.Now(), from, "resume ignored", err)
		return core.Resume{}, false
	}
	token := core.ResumeToken(s.resumeKey, r.Session)
	want := core.ResumeProof(token[:], p.Payload, p.Nick)
	if !hmac.Equal(want[:], r.Proof[:]) {
		s.drops.Drop(s.cfg.Now(), from, "resume ignored: its proof does not hold (another server, or a restart)", nil)
		return core.Resume{}, false
	}
	return r, true
}

// placeCursor sets where a confirmed version 2 session starts reading the
// room: where it joined (its KEY_REQ), after History chat messages for a
// newcomer, just past what it showed for
// a client that resumes in the same epoch, the head otherwise. Its first
// message is the session message (epoch and resume token).
func (s *Server) placeCursor(ctx context.Context, sess *session, w welcome) {
	// The room as this server knows it (its appends and the follower
	// keep it current), not a round trip to the log: this runs on the
	// read loop, which a log electing a new leader must not stall. What
	// the log no longer keeps is found as the cursor reads (takeBatch),
	// and the client told then.
	b := core.LogBounds{Epoch: s.lobby.epoch.Load(), First: 1, Next: s.lobby.head.Load()}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	live := joinedAt(sess, b)
	sess.epoch, sess.next, sess.liveFrom = b.Epoch, live, live
	if w.history {
		sess.next = s.historyStart(ctx, s.lobby, core.LogBounds{Epoch: b.Epoch, First: b.First, Next: live})
	}
	if r := w.resume; r != nil {
		sess.resumed[0] = r.Session
		known := w.carried && w.carriedEpoch == b.Epoch
		switch {
		case r.Epoch != b.Epoch:
		case r.Offset == 0 && !known:
			// Shown nothing, and where it joined went with the session
			// it carries on: it is placed as a newcomer, not replayed
			// the whole log.
			sess.next = s.historyStart(ctx, s.lobby, core.LogBounds{Epoch: b.Epoch, First: b.First, Next: live})
		default:
			from := min(r.Offset+1, b.Next)
			if known {
				// Nothing from before the session it carries on
				// joined: its client was never shown that.
				from = max(from, min(w.carriedFrom, b.Next))
			}
			sess.next, sess.liveFrom = from, from
		}
	}
	if err := s.queueDirectLocked(sess, s.sessionMessage(sess), nil); err != nil {
		s.log.Error("session message not queued", "to", sess.name, "err", err)
	}
	// The channels of the session it carries on, from where that one was:
	// what was on its way to that one and lost is not sent again.
	for _, c := range w.chans {
		if len(sess.chans) < maxJoined && !sess.inLocked(c.r) {
			c := c
			sess.chans = append(sess.chans, &c)
			c.r.members.Add(1)
		}
	}
	if w.current != nil && sess.inLocked(w.current) {
		sess.current = w.current
	}
	sess.welcome.chans = nil
}

// historyStart is the offset of the oldest of r's last History chat
// messages, which a newcomer is shown. Announcements are in the log too, so
// it looks back a bounded window, 4 History and 64 entries, for them: a
// room that announced more than that between its chat messages shows
// fewer.
func (s *Server) historyStart(ctx context.Context, r *room, b core.LogBounds) uint64 {
	n := s.cfg.History
	if n == 0 || b.Len() == 0 {
		return b.Next
	}
	window := min(b.Len(), uint64(4*n+64))
	buf := s.entries.Get().(*[]core.LogEntry) // every newcomer reads this: no garbage for each
	defer func() { clear(*buf); s.entries.Put(buf) }()
	ctx, cancel := context.WithTimeout(ctx, logTimeout)
	defer cancel()
	entries, _, err := s.readLog(ctx, r.name, b.Next-window, int(window), (*buf)[:0])
	*buf = entries
	if err != nil {
		s.log.Error("room log unreadable: no history", "err", err)
		return b.Next
	}
	start := b.Next
	for i := len(entries) - 1; i >= 0 && n > 0; i-- {
		if k := entries[i].Message.Kind; k == core.KindChat || k == core.KindAction {
			start, n = entries[i].Offset, n-1
		}
	}
	return start
}

// joinedAt is where sess joined the room, at its KEY_REQ, as an offset of
// the log whose bounds are b: kept within them, and b's head if the log
// started again since (its offsets mean other messages now). sess.mu is
// held.
func joinedAt(sess *session, b core.LogBounds) uint64 {
	if sess.epoch != b.Epoch {
		return b.Next
	}
	return min(max(sess.liveFrom, b.First), b.Next)
}

// sendV1Catchup sends a seed client, once its first DATA has proven its
// address, the room's last History chat messages from before its KEY_REQ,
// marked as history (if history, not for a client starting over), and what
// the room said since its KEY_REQ as it was said: nothing of the room went
// to it before. Version 1 has no flow control, so it is at most
// v1CatchupMax entries, the latest.
//
// The room goes on meanwhile, on the handler worker: sess.mu is held from
// reading the log's bounds to the last send, and sess.next set to the
// bounds' end, so that a message appended meanwhile is either in the
// catch-up or sent live after it (sendV1), never both nor out of order.
// Until then sess.next is 0, below every offset, and the catch-up will
// carry what sendV1 is given.
func (s *Server) sendV1Catchup(ctx context.Context, sess *session, history bool) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	b, err := s.roomLog.Bounds(ctx, core.LobbyRoom)
	if err != nil {
		s.log.Error("room log unreadable: no history", "err", err)
		sess.next = max(s.lobby.head.Load(), 1) // offsets start at 1: 0 means "not caught up"
		return
	}
	sess.next = max(b.Next, 1)
	live := joinedAt(sess, b)
	from := live
	if history && s.cfg.History > 0 {
		from = s.historyStart(ctx, s.lobby, core.LogBounds{Epoch: b.Epoch, First: b.First, Next: live})
	}
	if b.Next-from > v1CatchupMax {
		from = b.Next - v1CatchupMax
	}
	if from == b.Next || sess.ended {
		return
	}
	entries, _, err := s.readLog(ctx, core.LobbyRoom, from, int(b.Next-from), nil)
	if err != nil {
		s.log.Error("room log unreadable: no history", "err", err)
		return
	}
	for i := range entries {
		m := &entries[i].Message
		if entries[i].Offset < live {
			if m.Kind != core.KindChat && m.Kind != core.KindAction {
				continue
			}
			m.Kind = core.KindHistory
		} else if m.Origin == sess.id {
			continue
		}
		s.sendV1Locked(sess, &encodings{m: m}, nil)
	}
}

// v1CatchupMax bounds what a seed client is sent at once when it is
// confirmed: a datagram each, with no flow control.
const v1CatchupMax = 128

// chooseSuite picks the server's most preferred suite among the client's
// offer; an empty offer takes the default.
func (s *Server) chooseSuite(offer []string) core.Suite {
	if len(offer) == 0 {
		return s.cfg.Suite
	}
	for _, suite := range s.suites {
		if slices.Contains(offer, suite.Name()) {
			return suite
		}
	}
	return nil
}

// claimNick gives the confirming sess the nickname it was given at its
// handshake, or, if a session confirmed since has taken it, a guest name
// and a notice saying why. Only confirmed sessions hold nicknames: a
// forged KEY_REQ that never confirms must not keep anyone's name (issue
// 15), so two handshakes may be told the same free name, and the first to
// confirm has it. With a directory, a name another server's session holds
// is taken in the same way.
func (s *Server) claimNick(ctx context.Context, sess *session) {
	sess.mu.Lock()
	name := sess.name
	sess.mu.Unlock()
	for tries := 0; ; tries++ {
		var problem string
		switch {
		case s.refusedName(name, sess.key) != "" || !s.sessions.claim(sess, name) && !s.takeBack(ctx, sess, name):
			name, problem = s.pickNick(name, nil, sess.key)
		case tries == maxClaims:
			s.log.Warn("directory refuses every nickname: the session keeps one claimed on this server only", "name", name)
			return
		case !s.claimShared(ctx, sess, name):
			// Another server's: taken, though free here.
			s.sessions.unclaim(sess, name)
			name, problem = s.guestNick(fmt.Sprintf("nickname %q is taken", name))
		default:
			s.autoRegister(sess, name)
			return
		}
		sess.mu.Lock()
		sess.name = name
		sess.welcome.nickProblem = problem
		sess.mu.Unlock()
	}
}

// maxClaims bounds the names a confirming session tries: guest names
// are drawn from ten thousand, so that this many taken in a row means
// a directory that refuses them all.
const maxClaims = 16

// pickNick returns the name a version 2 client with key asked for if it
// may have it, and otherwise a guest name and the reason. The session a
// restarted client replaces does not keep its name from it, nor does any
// session keep a name registered to key from it (takeBack, as it confirms).
func (s *Server) pickNick(want string, replacing *session, key ed25519.PublicKey) (name, problem string) {
	if want != "" {
		err := s.checkName(want)
		if err == nil {
			problem = s.refusedName(want, key)
		}
		holder := s.sessions.nick(want)
		if err == nil && problem == "" && (holder == nil || holder == replacing || s.owns(key, want)) {
			return want, ""
		}
		switch {
		case err != nil:
			problem = err.Error()
		case problem == "":
			problem = fmt.Sprintf("nickname %q is taken", want)
		}
	}
	return s.guestNick(problem)
}

// guestNick returns a guest name free on this server, and problem with
// what to do about it.
func (s *Server) guestNick(problem string) (name, _ string) {
	for {
		var b [2]byte
		if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
			return "guest", problem
		}
		name = fmt.Sprintf("guest%04d", binary.BigEndian.Uint16(b[:])%10000)
		if s.sessions.nick(name) == nil {
			if problem != "" {
				problem += "; you are " + name + " (/nick NAME to change)"
			}
			return name, problem
		}
	}
}

// newSessionID draws a random, unused, non-zero session id. Random ids do
// not tell an observer how many sessions there are, nor let one guess
// another's.
func (s *Server) newSessionID() (uint64, error) {
	for {
		var b [8]byte
		if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
			return 0, err
		}
		id := binary.BigEndian.Uint64(b[:])
		if id != 0 && s.sessions.id(id) == nil {
			return id, nil
		}
	}
}

// checkName is CheckNick, and not one of the server's reserved names or
// bots.
func (s *Server) checkName(name string) error { return s.checkNameIn(s.live.Load(), name) }

// checkNameIn is checkName with l's reserved names and bots.
func (s *Server) checkNameIn(l *live, name string) error {
	if err := core.CheckNick(name); err != nil {
		return err
	}
	for _, r := range l.reserved {
		if core.FoldName(r) == core.FoldName(name) {
			return fmt.Errorf("%q is reserved", name)
		}
	}
	if _, banned := s.bans.Match(s.cfg.Now(), nil, netip.Addr{}, name); banned {
		return fmt.Errorf("nickname %q is banned from this server", name)
	}
	if b, ok := l.bot(name); ok {
		return fmt.Errorf("%q is the name of the bot %s", name, b.Name)
	}
	return nil
}
