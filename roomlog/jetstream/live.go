package jetstream

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/udpchat/udpchat/core"
)

// onLive takes a live message, a room's stream republishing what it
// stored: it moves the room's Next and wakes its waiters. Core NATS
// delivers at most once, so a message whose Nats-Last-Sequence is not the
// last one seen means one was lost (or the stream started again, from 1):
// the poll reads the room's state at once.
func (l *Log) onLive(msg *nats.Msg) {
	name := strings.TrimPrefix(msg.Subject, LivePrefix)
	seq, err1 := strconv.ParseUint(msg.Header.Get(natsjs.SequenceHeader), 10, 64)
	last, err2 := strconv.ParseUint(msg.Header.Get(natsjs.LastSequenceHeader), 10, 64)
	if err1 != nil || err2 != nil {
		return // not a stream's: someone else publishing on the subject
	}
	if l.dropLive != nil && l.dropLive(name, seq) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.rooms[name]
	if r == nil {
		return // a room this log has not been asked about
	}
	e := core.LogEntry{Offset: seq}
	if decodeMessage(msg.Data, &e.Message) == nil {
		r.recent.add(e, min(recentSize, l.maxMsgs))
	} else {
		r.recent.reset() // Read takes it from the stream, and says what it is
	}
	if last != r.lastLive {
		r.stale = true
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	if seq > r.lastLive || last != r.lastLive {
		r.lastLive = seq
	}
	if seq+1 > r.next {
		r.next = seq + 1
		r.wake()
	}
}

// poll reads the state of the rooms that need it: those someone waits on,
// every Poll and when the connection is back, in case a live message was
// lost; those a live message showed a gap in, at once.
func (l *Log) poll() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.Poll)
	defer t.Stop()
	for {
		all := false
		select {
		case <-l.done:
			return
		case <-t.C:
			all = true
		case _, ok := <-l.status:
			if !ok {
				return
			}
			all = true
		case <-l.kick:
		}
		l.mu.Lock()
		var rooms []*room
		for _, r := range l.rooms {
			if r.stale || all && r.waiters > 0 {
				r.stale = false
				rooms = append(rooms, r)
			}
		}
		l.mu.Unlock()
		for _, r := range rooms {
			ctx, cancel := context.WithTimeout(l.polling, l.opts.Timeout)
			if _, err := l.state(ctx, r); err != nil && l.polling.Err() == nil {
				l.log.Debug("room log: read the room's state", "room", r.name, "err", l.unreachable(err))
			}
			cancel()
		}
	}
}

// onReply hands a direct get's reply to the read waiting for it.
func (l *Log) onReply(msg *nats.Msg) {
	token := msg.Subject[len(l.inbox)+1:]
	l.pendingMu.Lock()
	ch := l.pending[token]
	l.pendingMu.Unlock()
	if ch != nil {
		select {
		case ch <- msg:
		default: // more than asked for: the read has what it needs
		}
	}
}

// get appends to dst the entries of r's stream from from on, at most n of
// them, in one batched direct get ($JS.API.DIRECT.GET.<stream>), which
// answers with each message and then an end-of-batch status.
func (l *Log) get(ctx context.Context, r *room, from uint64, n int, dst []core.LogEntry) ([]core.LogEntry, error) {
	ch := make(chan *nats.Msg, n+1)
	l.pendingMu.Lock()
	l.token++
	token := strconv.FormatUint(l.token, 36)
	l.pending[token] = ch
	l.pendingMu.Unlock()
	defer func() {
		l.pendingMu.Lock()
		delete(l.pending, token)
		l.pendingMu.Unlock()
	}()
	req := fmt.Appendf(nil, `{"seq":%d,"batch":%d}`, from, n)
	if err := l.nc.PublishRequest("$JS.API.DIRECT.GET."+r.stream, l.inbox+"."+token, req); err != nil {
		return dst, fmt.Errorf("direct get: %w", err)
	}
	for got := 0; got < n; {
		var msg *nats.Msg
		select {
		case msg = <-ch:
		case <-ctx.Done():
			return dst, fmt.Errorf("direct get: %w", ctx.Err())
		case <-l.done:
			return dst, core.ErrRoomLogClosed
		}
		switch status := msg.Header.Get("Status"); status {
		case "":
		case "204", "404": // the end of the batch, or nothing from from on
			return dst, nil
		case "503":
			return dst, fmt.Errorf("direct get: %w", natsjs.ErrNoStreamResponse)
		default:
			return dst, fmt.Errorf("direct get: status %s %s", status, msg.Header.Get("Description"))
		}
		got++
		seq, err := strconv.ParseUint(msg.Header.Get(natsjs.SequenceHeader), 10, 64)
		if err != nil {
			return dst, fmt.Errorf("direct get: reply without a sequence")
		}
		e := core.LogEntry{Offset: seq}
		if err := decodeMessage(msg.Data, &e.Message); err != nil {
			// Published on the room's subject by something else: the
			// entry stays, a notice in place of what cannot be read, so
			// that offsets stay contiguous.
			l.log.Warn("room log: an entry that does not decode", "room", r.name, "offset", seq, "err", err)
			e.Message = core.Message{Kind: core.KindSystem, From: core.SystemSender, Text: "(an unreadable entry of the room's log)"}
		}
		dst = append(dst, e)
	}
	return dst, nil
}
