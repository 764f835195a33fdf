package server

import (
	"net/netip"
	"runtime"
	"sync"

	"github.com/udpchat/udpchat/core"
)

// Seed lanes. Every seed (version 1) recipient has keys of its own, so a
// message of the room is sealed, encoded and sent once per seed client:
// at 20 clients that was most of the handler worker's time, on one core,
// while every sender waited for its ACK behind it. While Serve runs, that
// work is the seed lanes': a few goroutines (one per core, at most
// maxSeedLanes), each sending to the seed clients given to it when their
// session was made (session.lane), in the order the messages were given to
// it. So a seed client's datagrams are sealed and sent by one goroutine, in
// the room's order (each room's entries are given out under its seedMu, in
// the log's order), and its notices and private messages, given to the
// same lane, keep their place among them. The worker only hands a message
// on, and the lanes seal in parallel; a lane behind takes everything queued
// at once and sends it in as few system calls as batchSize allows.
//
// The ACK of a seed client's DATA says "handed on": the worker sends it as
// soon as the message is given to the lanes, so that the sender goes on
// while they send it, unless a notice or private message for that client
// waits on its lane (laneDirect); then the ACK goes through the lane,
// behind it, since a refusal's notice must come before the ACK.
//
// The catch-up a seed client is sent when it is confirmed (sendV1Catchup)
// does not go through its lane: it is written at once, under the session's
// lock, and a lane checks under that lock whether an entry is past the
// catch-up before it seals it (v1Skips), as sendV1 does.

// maxSeedLanes bounds the lanes: sealing for seed clients takes a core
// each, and a server with more cores has other work for them.
const maxSeedLanes = 4

// seedQueue is how many messages of the room may wait for a lane before
// the room's next one waits for it: the handler worker then waits, and
// with it the ACKs, so that senders slow down to what the lanes send.
// Notices and private messages never wait (see push). What waits is
// latency: at 20 seed clients back to back, 256 gave a p99 of 27 ms
// against the 8 ms of the seed path before the lanes, 32 gave 9.5 to 11,
// 16 gave 9.2, with no fewer deliveries a second (a lane still sends 16
// messages' datagrams, some 160 at 20 clients, in three system calls).
const seedQueue = 16

// seedSlab is the room a lane encodes a batch's datagrams in: a batch goes
// out before the room left is less than slabMargin, which no datagram
// (at most core.MaxDatagram) and no codec's estimate of one outgrows.
const (
	seedSlab   = batchSize*512 + slabMargin
	slabMargin = 2 * core.MaxDatagram
)

// seedJob is what a lane is given for seed clients: an entry of a room
// for every one in to on the lane's share, a message for one alone, or
// the ACK of one's DATA.
type seedJob struct {
	kind   seedKind
	text   []byte // what is sealed: "<sender> text", read only
	id     uint64 // the entry's offset in its room, or 0
	lobby  bool   // an entry of the lobby, which a seed client's catch-up covers
	origin uint64 // the sender's session, which is not sent its own
	to     []*session
	one    *session
	ack    uint64         // the seq an ACK acknowledges
	addr   netip.AddrPort // where the ACK goes: whence the DATA came
}

type seedKind uint8

const (
	seedRoom seedKind = iota // an entry of a room, to the clients in to
	seedOne                  // a notice or a private message, to one
	seedAck                  // the ACK of one's DATA, which is not sealed
)

// seedLane is one lane: its queue and, owned by its goroutine, what it
// seals, encodes and sends a batch in.
type seedLane struct {
	index int

	mu      sync.Mutex
	queue   []seedJob
	spare   []seedJob // the queue's other array, while the lane works through one
	work    sync.Cond // signalled when a job is queued or the lane closes
	drained sync.Cond // broadcast when the lane takes the queue
	closed  bool

	// The lane goroutine's own.
	sealed []byte
	slab   []byte  // where out's datagrams are encoded, until it flushes
	out    *outbox // the lane's batch; nil if the transport has none
	pkt    core.Packet
	sends  uint64 // DATA in the slab, counted into the server's at a flush
}

// seedLanes are the server's lanes, made by Serve; nil otherwise.
type seedLanes struct {
	lanes []*seedLane
	wg    sync.WaitGroup
}

// startSeedLanes starts the lanes, one per core up to maxSeedLanes.
func (s *Server) startSeedLanes() *seedLanes {
	n := min(max(runtime.GOMAXPROCS(0), 1), maxSeedLanes)
	ls := &seedLanes{lanes: make([]*seedLane, n)}
	for i := range ls.lanes {
		l := &seedLane{index: i, out: s.newOutbox()}
		l.work.L, l.drained.L = &l.mu, &l.mu
		ls.lanes[i] = l
		ls.wg.Go(func() { s.runLane(ls, l) })
	}
	return ls
}

// stop closes the lanes and waits until each has sent what it was given.
// A push after it is refused, and its caller sends at once.
func (ls *seedLanes) stop() {
	for _, l := range ls.lanes {
		l.mu.Lock()
		l.closed = true
		l.work.Signal()
		l.drained.Broadcast()
		l.mu.Unlock()
	}
	ls.wg.Wait()
}

// laneOf is the lane that sends to sess.
func (ls *seedLanes) laneOf(sess *session) *seedLane { return ls.lanes[ls.laneIndex(sess)] }

// pushRoom gives j, an entry of a room for the seed clients in j.to, to
// every lane with one of them, waiting while a lane has seedQueue of the
// room's messages queued. It returns the lanes that refused it, closed, as
// bits: the caller sends to their clients itself. The caller holds the
// room's seedMu, so the room's entries reach each lane in the log's order.
func (ls *seedLanes) pushRoom(j seedJob) (refused uint64) {
	var with uint64 // the lanes that have a recipient, as bits
	for _, sess := range j.to {
		if sess.id != j.origin {
			with |= 1 << ls.laneIndex(sess)
		}
	}
	for i, l := range ls.lanes {
		if with&(1<<i) != 0 && !l.push(j, true) {
			refused |= 1 << i
		}
	}
	return refused
}

// laneIndex is the index of the lane that sends to sess.
func (ls *seedLanes) laneIndex(sess *session) int { return int(sess.lane) % len(ls.lanes) }

// push queues j on l, waiting first while seedQueue jobs are queued if
// wait is set. A notice or private message does not wait: its caller
// may hold locks a lane needs, and such messages come at the pace of
// their clients' commands, which the rate limit bounds. It reports false
// if l is closed.
func (l *seedLane) push(j seedJob, wait bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for wait && len(l.queue) >= seedQueue && !l.closed {
		l.drained.Wait()
	}
	if l.closed {
		return false
	}
	l.queue = append(l.queue, j)
	if len(l.queue) == 1 {
		l.work.Signal()
	}
	return true
}

// runLane sends what l is given until it is closed and has sent it all.
func (s *Server) runLane(ls *seedLanes, l *seedLane) {
	for {
		l.mu.Lock()
		for len(l.queue) == 0 && !l.closed {
			l.work.Wait()
		}
		if len(l.queue) == 0 {
			l.mu.Unlock()
			return
		}
		jobs := l.queue
		l.queue, l.spare = l.spare[:0], nil
		l.drained.Broadcast()
		l.mu.Unlock()

		for i := range jobs {
			j := &jobs[i]
			switch j.kind {
			case seedRoom:
				for _, sess := range j.to {
					if ls.laneIndex(sess) == l.index && sess.id != j.origin {
						s.laneSeal(l, sess, j)
					}
				}
			case seedOne:
				s.laneSeal(l, j.one, j)
			case seedAck:
				l.pkt = core.Packet{Type: core.TypeAck, AckSeq: j.ack, HasAckSeq: true}
				s.laneAdd(l, j.one.codec, j.addr)
			}
		}
		s.laneFlush(l)
		for i := range jobs {
			if jobs[i].kind == seedOne {
				jobs[i].one.laneDirect.Add(-1) // sent: its session's ACKs need not wait for it
			}
		}

		clear(jobs) // the texts and sessions are not kept
		l.mu.Lock()
		l.spare = jobs[:0]
		l.mu.Unlock()
	}
}

// laneSeal seals j for sess and adds the datagram to l's batch, as sendV1
// does at once.
func (s *Server) laneSeal(l *seedLane, sess *session, j *seedJob) {
	if !sess.confirmed.Load() {
		return
	}
	sess.mu.Lock()
	skip := sess.ended || v1Skips(sess, j.id, j.lobby)
	addr := sess.addr
	sess.mu.Unlock()
	if skip {
		return
	}
	sealed, err := sess.keys.Seal(l.sealed[:0], j.text, nil)
	if err != nil {
		s.log.Error("seal failed", "err", err)
		return
	}
	l.sealed = sealed
	l.pkt = core.Packet{Type: core.TypeData, Payload: sealed}
	if s.laneAdd(l, sess.codec, addr) {
		l.sends++ // not the shared counters, which the lanes would contend for
	}
}

// laneAdd encodes l.pkt in codec, in l's slab, and adds it to l's batch
// for to; it reports whether it did.
func (s *Server) laneAdd(l *seedLane, codec core.Codec, to netip.AddrPort) bool {
	if cap(l.slab)-len(l.slab) < slabMargin {
		s.laneFlush(l)
	}
	if l.slab == nil {
		l.slab = make([]byte, 0, seedSlab) // at the first seed client's first message
	}
	free := l.slab[len(l.slab):]
	dg, err := codec.Append(free, &l.pkt)
	l.pkt.Payload = nil // the sealing is the lane's scratch
	if err != nil {
		s.log.Error("encode failed", "packet", l.pkt.String(), "err", err)
		return false
	}
	if len(dg) <= cap(free) {
		l.slab = l.slab[:len(l.slab)+len(dg)] // encoded in the slab, which the margin leaves room for
	}
	return l.out.send(s, dg, to)
}

// laneFlush sends l's batch, after which its slab is free again.
func (s *Server) laneFlush(l *seedLane) {
	l.out.flush()
	l.slab = l.slab[:0]
	if l.sends > 0 {
		s.relayed.Add(l.sends)
		s.delivered.Add(l.sends)
		l.sends = 0
	}
}

// v1Skips reports whether the seed client sess is not sent the entry id of
// a room (of the lobby if lobby) live: an entry of the lobby at or before
// the end of its catch-up (sess.next), which the catch-up carries or
// carried; before the catch-up, none. A message with no id (a notice, a
// private message) and a channel's entries are always sent. sess.mu is
// held.
func v1Skips(sess *session, id uint64, lobby bool) bool {
	return id != 0 && lobby && (sess.next == 0 || id < sess.next)
}
