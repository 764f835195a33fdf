package server

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/replay"
)

// session is one client's state on the server.
type session struct {
	// Fixed at creation.
	id      uint64 // the session id: on the wire in version 2, local in version 1
	version uint8
	codec   core.Codec        // the codec the session started in, and is answered in
	suite   core.Suite        // the suite its keys are of
	msgs    core.MessageCodec // its version 2 messages, when version is 2
	hello   [32]byte          // helloHash of the KEY_REQ, to recognise a retried handshake
	// key is the client's own key, which its KEY_REQ proved (owners.go);
	// nil for a seed client and a version 2 client without one.
	key ed25519.PublicKey
	// reply is the KEY_REP datagram, sent again for a retried handshake
	// until the client has shown it has the keys; then it is dropped, to
	// keep an idle session small. Only the read loop touches it.
	reply  []byte
	keys   core.SessionKeys
	joined time.Time
	lane   uint8 // the seed lane a seed client is sent through (seedlanes.go)
	// laneDirect counts the notices and private messages for this seed
	// client that its lane has yet to send, which its ACKs must follow.
	laneDirect atomic.Int32

	lastSeen atomic.Int64 // unix nanoseconds of the last authentic packet
	// confirmed is set once the client has shown it holds the session's keys
	// (version 1: at once, it cannot). Until then the address may be a
	// spoofed victim's, so the session is sent nothing but its KEY_REP: no
	// room traffic, no notices, no history.
	confirmed atomic.Bool
	welcome   welcome // what confirmation brings, decided at the handshake

	mu       sync.Mutex // guards what follows
	addr     netip.AddrPort
	name     string // nickname, or ip:port
	recv     core.Receiver
	tags     replay.Tags // version 1: tags of accepted payloads
	snd      core.Sender // version 2: server-to-client DATA
	sndNext  time.Time   // when snd wants Poll again; zero when idle
	onTimer  bool        // in the server's pending set, for the timer to poll
	lastPing uint64      // version 2: highest PING seq seen, so only fresh PINGs probe a new address
	path     *pathProbe  // version 2: the new address being validated (path.go), if any
	limiter  *rate.Limiter
	ended    bool
	// slow is set when the room stopped waiting for this recipient, and
	// cleared when it has caught up.
	slow bool
	// space is signalled when a version 2 recipient that was far behind
	// the room's head has caught up some, to wake the handler worker
	// stalled on it.
	space chan struct{}

	// Scratch space for the hot path, reused under mu: a packet's
	// associated data need not outlive its handling. What a payload is
	// opened, sealed and encoded in is the server's, pooled (openScratch,
	// egressScratch).
	ad    [core.ADLen]byte
	body  []byte                           // the message the next build seals (version 2)
	build func(seq uint64) ([]byte, error) // s.buildData, made once

	// Version 2 delivery (cursor.go). The embedded cursor is the
	// session's place in the lobby, which every session is in; chans are
	// its places in the other channels it joined (channel.go), and current
	// the channel its messages go to when they name none (nil: the
	// lobby). A seed client's lobby next is where its catch-up ended
	// (sendV1), and its chans say which channels it is in. resumed are the
	// session this one carries on (Resume) and the one that one carried
	// on, whose messages, like its own, it is not sent.
	// direct are the encoded messages for this client alone, sent before
	// the room's next entries; held is the DATA being gathered; bundler
	// and flow are nil when the codec or the layer cannot bundle.
	cursor
	chans   []*cursor
	current *room
	turn    int // the cursor the next DATA is gathered from first
	// ignores are the folded names whose messages sess is not sent;
	// away is its away message, "" when it is here (moderation.go).
	ignores []string
	away    string
	resumed [2]uint64
	direct  [][]byte
	held    [][]byte
	bundler core.Bundler
	flow    core.Flow

	// refused are the verdicts on this client's latest refused DATA (at
	// most keptVerdicts, oldest first), so that the ACK of a duplicate
	// says "refused" again (ackLocked). nil until the first refusal, to
	// keep a session that never had one small.
	refused []verdict
	// dupes rates the answers to duplicate DATA (receive.go); nil until
	// the first duplicate.
	dupes *rate.Limiter

	// The rate limit's delayed handoffs, oldest first (lag.go): only the
	// handler worker adds or takes them. While a message waits there,
	// lagHeld is set and lagFrom is its seq, which ACKs' cumulative part
	// must not pass; judgedTo is one past the highest seq judged.
	lag      []lagged
	lagHeld  bool
	lagFrom  uint64
	judgedTo uint64
}

// placedLocked reports whether confirm has placed sess's cursor in the room
// log (version 2): the client has proven its keys, and the cursor is where
// it joined. Nothing of the room goes to it before, nor does the room wait
// for it: confirmed and not yet placed (confirm claims the nickname first,
// a round trip with a directory), its cursor read from 0 would send it the
// log from the start, and again from where it is placed. sess.mu is held.
func (c *cursor) placedLocked() bool { return c.next != 0 }

// verdict is a refused seq and why.
type verdict struct {
	seq    uint64
	reason string
}

// keptVerdicts bounds the refusals a session remembers. A duplicate comes
// from a client still retrying a DATA whose ACK was lost, so only the last
// few can still be asked about: with stop-and-wait only the last, with a
// window at most a window's worth.
const keptVerdicts = 16

// refusedLocked remembers that seq was refused for reason.
func (s *session) refusedLocked(seq uint64, reason string) {
	for i := range s.refused {
		if s.refused[i].seq == seq {
			s.refused[i].reason = reason
			return
		}
	}
	if len(s.refused) == keptVerdicts {
		copy(s.refused, s.refused[1:])
		s.refused = s.refused[:keptVerdicts-1]
	}
	s.refused = append(s.refused, verdict{seq, reason})
}

// verdictLocked is why seq was refused, or "" if it was not (or is
// forgotten).
func (s *session) verdictLocked(seq uint64) string {
	for _, v := range s.refused {
		if v.seq == seq {
			return v.reason
		}
	}
	return ""
}

// scratchAD returns p's associated data in the session's scratch space.
func (s *session) scratchAD(p *core.Packet) []byte { return p.AppendAD(s.ad[:0]) }

func (s *session) touch(now time.Time) { s.lastSeen.Store(now.UnixNano()) }

// sessionTable indexes sessions by id and by address. Version 1 packets carry
// no id, so they are found by address; version 2 packets by id, and the
// address index then only serves to recognise a retried or restarted
// handshake. It counts the sessions of each IP address and each prefix
// (addrPrefix), for the per-address caps. Only confirmed sessions are
// indexed by nickname (claim).
type sessionTable struct {
	mu      sync.RWMutex
	byID    map[uint64]*session
	byAddr  map[netip.AddrPort]*session
	byNick  map[string]*session // lower-cased names
	perIP   map[netip.Addr]int
	perNet  map[netip.Prefix]int
	counted map[*session]netip.Addr // the IP each session is counted under
	// seedList is the version 1 sessions in byID, replaced, never
	// changed, when one comes or goes: a room's fan-out to seed clients
	// reads it without a copy, and may hand it to the seed lanes.
	seedList []*session
}

func newSessionTable() *sessionTable {
	return &sessionTable{
		byID:    make(map[uint64]*session),
		byAddr:  make(map[netip.AddrPort]*session),
		byNick:  make(map[string]*session),
		perIP:   make(map[netip.Addr]int),
		perNet:  make(map[netip.Prefix]int),
		counted: make(map[*session]netip.Addr),
	}
}

// addrPrefix is the network an address is counted in for the per-prefix
// cap: a /24 of IPv4, as one small site or customer has; a /48 of IPv6,
// what a site is allocated, since one host may hold a whole /64.
func addrPrefix(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.Prefix(bits)
	return p
}

// roomFor reports, as an error, whether ip or its prefix already holds
// its cap of sessions; a cap below zero is none.
func (t *sessionTable) roomFor(ip netip.Addr, perIP, perNet int) error {
	ip = ip.Unmap()
	t.mu.RLock()
	defer t.mu.RUnlock()
	if n := t.perIP[ip]; perIP >= 0 && n >= perIP {
		return fmt.Errorf("%d sessions from %v, at most %d", n, ip, perIP)
	}
	if p, n := addrPrefix(ip), t.perNet[addrPrefix(ip)]; perNet >= 0 && n >= perNet {
		return fmt.Errorf("%d sessions from %v, at most %d", n, p, perNet)
	}
	return nil
}

// countLocked counts s under the IP of its address, uncounting it from
// the one it was counted under.
func (t *sessionTable) countLocked(s *session) {
	t.uncountLocked(s)
	ip := s.addr.Addr().Unmap()
	t.counted[s] = ip
	t.perIP[ip]++
	t.perNet[addrPrefix(ip)]++
}

// uncountLocked undoes countLocked, deleting counts that reach zero so
// that the maps hold only addresses with sessions.
func (t *sessionTable) uncountLocked(s *session) {
	ip, ok := t.counted[s]
	if !ok {
		return
	}
	delete(t.counted, s)
	if t.perIP[ip]--; t.perIP[ip] <= 0 {
		delete(t.perIP, ip)
	}
	p := addrPrefix(ip)
	if t.perNet[p]--; t.perNet[p] <= 0 {
		delete(t.perNet, p)
	}
}

func (t *sessionTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byID)
}

func (t *sessionTable) id(id uint64) *session {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.byID[id]
}

func (t *sessionTable) addr(a netip.AddrPort) *session {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.byAddr[a]
}

func (t *sessionTable) nick(name string) *session {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.byNick[core.FoldName(name)]
}

// all returns every session but the one with id except.
func (t *sessionTable) all(except uint64) []*session {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*session, 0, len(t.byID))
	for _, s := range t.byID {
		if s.id != except {
			out = append(out, s)
		}
	}
	return out
}

// add indexes s, whose addr and name are set, and returns the session it
// replaces at the same address, if any.
func (t *sessionTable) add(s *session) (replaced *session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.byAddr[s.addr]; old != nil {
		t.removeLocked(old)
		replaced = old
	}
	t.byID[s.id] = s
	t.byAddr[s.addr] = s
	t.countLocked(s)
	if s.version < 2 {
		t.seedList = append(slices.Clip(t.seedList), s) // a new array: the old one may be read
	}
	return replaced
}

// seeds returns the version 1 sessions in the table, most often none: a
// slice the caller must not change, which stays as it is when sessions
// come and go.
func (t *sessionTable) seeds() []*session {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.seedList
}

// claim indexes s under the nickname name, unless another session holds
// it; it reports whether it did. A session claims its name when it is
// confirmed, not when it is added.
func (t *sessionTable) claim(s *session, name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID[s.id] != s {
		return true // ended meanwhile: nothing to hold
	}
	if other := t.byNick[core.FoldName(name)]; other != nil && other != s {
		return false
	}
	t.byNick[core.FoldName(name)] = s
	return true
}

// unclaim undoes claim: s no longer holds the nickname name.
func (t *sessionTable) unclaim(s *session, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byNick[core.FoldName(name)] == s {
		delete(t.byNick, core.FoldName(name))
	}
}

// remove drops s from every index; it reports whether s was there.
func (t *sessionTable) remove(s *session) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID[s.id] != s {
		return false
	}
	t.removeLocked(s)
	return true
}

func (t *sessionTable) removeLocked(s *session) {
	t.uncountLocked(s)
	if i := slices.Index(t.seedList, s); i >= 0 {
		t.seedList = slices.Concat(t.seedList[:i], t.seedList[i+1:]) // a new array, as in add
	}
	delete(t.byID, s.id)
	if t.byAddr[s.addr] == s {
		delete(t.byAddr, s.addr)
	}
	if t.byNick[core.FoldName(s.name)] == s {
		delete(t.byNick, core.FoldName(s.name))
	}
}

// move gives s, whose mu the caller holds, the address to, unless another
// session has it: a session is never moved onto another live one's address
// (path.go). It reports whether it moved s.
func (t *sessionTable) move(s *session, to netip.AddrPort) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if other := t.byAddr[to]; other != nil && other != s {
		return false
	}
	if t.byAddr[s.addr] == s {
		delete(t.byAddr, s.addr)
	}
	s.addr = to
	t.byAddr[to] = s
	t.countLocked(s) // a validated move may take an address past its cap
	return true
}

// rename gives s the name to, unless another session has it; it reports
// whether it did.
func (t *sessionTable) rename(s *session, from, to string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if other := t.byNick[core.FoldName(to)]; other != nil && other != s {
		return false
	}
	if t.byNick[core.FoldName(from)] == s {
		delete(t.byNick, core.FoldName(from))
	}
	t.byNick[core.FoldName(to)] = s
	return true
}

// welcome is what a session is sent, and the room told, once it is
// confirmed.
type welcome struct {
	announce    bool   // tell the room it joined (not a same-named restart)
	history     bool   // show it the history (not a client starting over)
	nickProblem string // why it did not get the nickname it asked for
	// resume is the client's valid claim to carry on a session: where it
	// stopped reading the room (placeCursor).
	resume *core.Resume
	// carried says whether the server still had the session resume carries
	// on, and if so where that session started reading the room live
	// (liveFrom, in epoch): a client shown nothing yet claims offset 0,
	// which says nothing of where it joined, and must not be replayed the
	// room from before that.
	carried                   bool
	carriedEpoch, carriedFrom uint64
	// chans and current are the channels of the session carried on, and
	// the one it talked in: the new one goes on in them from where that
	// one was.
	chans   []cursor
	current *room
}

// endSession removes sess and tells the room it left, once.
func (s *Server) endSession(ctx context.Context, sess *session, why string) {
	s.dismiss(ctx, sess, why, "")
}

// dismiss is endSession telling the client why, in its BYE: a notice sent
// before it would be dropped with everything the session had queued.
// A seed client, which has no BYE, is sent told as a notice, best effort.
func (s *Server) dismiss(ctx context.Context, sess *session, why, told string) {
	if !s.sessions.remove(sess) {
		return
	}
	if told != "" && sess.version < 2 {
		s.notify(sess, core.KindError, told)
	}
	if why != "left" && sess.version >= 2 && sess.confirmed.Load() {
		// Tell the client, which may still be there, so it can reconnect;
		// not an address that never proved itself, which may be a
		// spoofed victim's and is sent nothing but its KEY_REP.
		sess.mu.Lock()
		s.sendSealedLocked(sess, &core.Packet{Type: core.TypeBye, Session: sess.id}, []byte(told))
		sess.mu.Unlock()
	}
	name, joined := s.retire(sess)
	s.log.Info("session ended", "name", name, "session", fmt.Sprintf("%016x", sess.id), "why", why)
	if joined {
		s.presence(ctx, sess.id, name, why)
		s.observe(ctx, core.RoomEvent{Kind: core.EventLeave, Name: name, Why: why})
	}
}

// retire marks sess ended, drops what it had queued (for it, and from it
// waiting for the rate limit), erases its keys and takes it off the timer
// lists; it returns its name, and whether it had joined the room (was
// confirmed) and is leaving it: not if its client resumed on another
// server, which took its nickname over.
func (s *Server) retire(sess *session) (name string, joined bool) {
	joined = sess.confirmed.Swap(true)
	if sess.version >= 2 && !joined {
		s.halfOpen.Add(-1) // never confirmed: no longer half open either
	}
	sess.mu.Lock()
	sess.ended = true
	if sess.snd != nil {
		sess.snd.Drain()
		clear(sess.direct)
		sess.direct = nil
	}
	if e, ok := sess.keys.(core.Eraser); ok {
		e.Erase()
	}
	name = sess.name
	sess.mu.Unlock()
	s.pendingMu.Lock()
	delete(s.pending, sess)
	s.pendingMu.Unlock()
	s.dropLag(sess)
	s.leaveAll(sess)
	if joined && s.releaseShared(context.Background(), name, sess.id) {
		// Its client resumed on another server, which holds the name
		// now: to the room, nobody left.
		joined = false
	}
	return name, joined
}
