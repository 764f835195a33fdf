// Package nats keeps udpchat's presence across servers (core.Directory) on
// NATS: each nickname claimed is a key of the JetStream key-value bucket
// udpchat_nicks, whose value names the server (node) and session holding
// it; each server answers private messages for its users on a subject of
// its own. The bucket's TTL lets the claims of a server that dies lapse:
// a live server writes each of its claims again every third of it.
package nats

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/settle"
)

// Bucket is the key-value bucket of claimed nicknames.
const Bucket = "udpchat_nicks"

// SubjectPrefix is where a node answers private messages for its users:
// SubjectPrefix + node.
const SubjectPrefix = "udpchat.presence.node."

// DefaultTTL is how long a claim outlives the last time its server wrote
// it: a dead server's users are gone from /who, and their nicknames free,
// this long after it stopped. A live server writes each claim every third
// of it, so that one late write does not lose a name.
const DefaultTTL = 30 * time.Second

// deliverTimeout bounds a node's handing of a private message to its
// server (DeliverFunc): the sender waits on it.
const deliverTimeout = 2 * time.Second

// answerTimeout bounds the wait for another node's answer to a private
// message: its deliverTimeout and a second for the round trip.
const answerTimeout = deliverTimeout + time.Second

// Directory is a core.Directory on NATS. Make it with New; Open it once,
// in the server that uses it.
type Directory struct {
	nc       *natsio.Conn
	js       jetstream.JetStream
	log      *slog.Logger
	node     string
	ttl      time.Duration
	replicas int
}

var _ core.Directory = (*Directory)(nil)

// Option tunes a Directory.
type Option func(*Directory)

// WithNode names this server among the nodes: a NATS subject token of
// letters, digits, '-' and '_', unique among the servers sharing the room.
// Default: one drawn at random, which a restart changes.
func WithNode(name string) Option { return func(d *Directory) { d.node = name } }

// WithTTL sets the bucket's TTL (DefaultTTL if 0): servers sharing the
// bucket must agree on it, since each one opening it sets it.
func WithTTL(ttl time.Duration) Option { return func(d *Directory) { d.ttl = ttl } }

// WithReplicas sets the copies of the bucket in a JetStream cluster
// (default 1).
func WithReplicas(n int) Option { return func(d *Directory) { d.replicas = n } }

// New returns a Directory on the connection nc; js is nc's JetStream, or
// nil to make one. log gets what goes wrong in the background (a claim
// that could not be kept alive, a message that could not be answered).
func New(nc *natsio.Conn, js jetstream.JetStream, log *slog.Logger, opts ...Option) (*Directory, error) {
	if nc == nil {
		return nil, errors.New("presence/nats: a NATS connection is needed")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Directory{nc: nc, js: js, log: log, ttl: DefaultTTL, replicas: 1}
	for _, o := range opts {
		o(d)
	}
	if d.js == nil {
		var err error
		if d.js, err = jetstream.New(nc); err != nil {
			return nil, fmt.Errorf("presence/nats: %w", err)
		}
	}
	if d.node == "" {
		d.node = "node-" + natsio.NewInbox()[len(natsio.InboxPrefix):]
	}
	if err := checkNode(d.node); err != nil {
		return nil, err
	}
	if d.ttl <= 0 {
		d.ttl = DefaultTTL
	}
	if d.replicas <= 0 {
		d.replicas = 1
	}
	return d, nil
}

// checkNode says why name cannot be a node's name: it is a subject token.
func checkNode(name string) error {
	if name == "" || len(name) > 64 || strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		return fmt.Errorf("presence/nats: node name %q: 1 to 64 letters, digits, '-' and '_'", name)
	}
	return nil
}

// Node is this server's name among the nodes.
func (d *Directory) Node() string { return d.node }

// Open creates the bucket (or sets its TTL), answers private messages for
// this node's users, and keeps its claims alive until Close.
func (d *Directory) Open(ctx context.Context, deliver core.DeliverFunc) (core.Presence, error) {
	// Often asked of a cluster still electing its meta leader, as the
	// server starts: asked again while it settles.
	var kv jetstream.KeyValue
	err := settle.Retry(ctx, d.log, "presence/nats: bucket "+Bucket, func(c context.Context) (err error) {
		kv, err = d.js.CreateOrUpdateKeyValue(c, jetstream.KeyValueConfig{
			Bucket:      Bucket,
			Description: "udpchat: who holds each nickname (presence/nats)",
			TTL:         d.ttl,
			History:     1,
			Storage:     jetstream.MemoryStorage, // presence is rebuilt as clients connect: no disk
			Replicas:    d.replicas,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("presence/nats: bucket %s: %w", Bucket, err)
	}
	p := &Presence{d: d, kv: kv, deliver: deliver, claims: map[string]*claim{}, done: make(chan struct{})}
	if p.sub, err = d.nc.Subscribe(SubjectPrefix+d.node, p.answer); err != nil {
		return nil, fmt.Errorf("presence/nats: subscribe: %w", err)
	}
	p.wg.Go(p.refresh)
	return p, nil
}

// Presence is one server's part of the directory (core.Presence).
type Presence struct {
	d       *Directory
	kv      jetstream.KeyValue
	deliver core.DeliverFunc
	sub     *natsio.Subscription
	done    chan struct{}
	wg      sync.WaitGroup

	mu     sync.Mutex
	claims map[string]*claim // by key: what this node holds, to keep alive
	closed bool
}

var _ core.Presence = (*Presence)(nil)

// claim is a nickname this node holds, at the revision it last wrote: 0
// while it is pending, not yet written for want of the bucket.
type claim struct {
	holder   holder
	rev      uint64
	replaces uint64 // the resumed session it may take over, while pending
}

// holder is a claim's value in the bucket.
type holder struct {
	Node    string `json:"node"`
	Session string `json:"session"` // hex, as the server logs it
	Name    string `json:"name"`    // as its user spells it
}

// key is the bucket's key for a nickname: FoldName's folding, as it is
// for a nickname (letters, digits, '-', '_' are valid key characters),
// or "x." and its hex for a version 1 client's ip:port name.
func key(name string) string {
	k := core.FoldName(name)
	if core.CheckNick(name) == nil {
		return "n." + k
	}
	return "x." + hex.EncodeToString([]byte(k))
}

func sessionHex(id uint64) string { return fmt.Sprintf("%016x", id) }

// Claim implements core.Presence. A claim the bucket could not be
// reached for is tried again in the background (retryPending) until it is
// made or found taken: the session has the name on its own server
// meanwhile, and must not go without it on the others for good.
func (p *Presence) Claim(ctx context.Context, name string, session, replaces uint64) (carried bool, err error) {
	k := key(name)
	h := holder{Node: p.d.node, Session: sessionHex(session), Name: name}
	rev, carried, err := p.write(ctx, k, h, replaces)
	switch {
	case err == nil:
		p.keep(k, h, rev)
	case !errors.Is(err, core.ErrNickTaken):
		p.mu.Lock()
		if p.claims[k] == nil {
			p.claims[k] = &claim{holder: h, replaces: replaces} // pending
		}
		p.mu.Unlock()
	}
	return carried, err
}

// write makes h the holder of k unless another session holds it, and
// returns the revision written and whether it took over replaces' claim.
func (p *Presence) write(ctx context.Context, k string, h holder, replaces uint64) (rev uint64, carried bool, err error) {
	val, err := json.Marshal(h)
	if err != nil {
		return 0, false, fmt.Errorf("presence/nats: claim %s: %w", h.Name, err)
	}
	// A race with another claim, or with the key's expiry, is tried
	// again: a few times, since each try learns the key's newest state.
	for range 4 {
		rev, err := p.kv.Create(ctx, k, val)
		if err == nil {
			return rev, false, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return 0, false, fmt.Errorf("presence/nats: claim %s: %w", h.Name, err)
		}
		e, err := p.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue // it lapsed meanwhile
		}
		if err != nil {
			return 0, false, fmt.Errorf("presence/nats: claim %s: %w", h.Name, err)
		}
		var old holder
		if err := json.Unmarshal(e.Value(), &old); err == nil &&
			(old.Node == p.d.node && old.Session == h.Session || replaces != 0 && old.Session == sessionHex(replaces)) {
			rev, err := p.kv.Update(ctx, k, val, e.Revision())
			if err == nil {
				return rev, old.Session != h.Session, nil
			}
			if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
				return 0, false, fmt.Errorf("presence/nats: claim %s: %w", h.Name, err)
			}
			continue
		}
		return 0, false, fmt.Errorf("presence/nats: %s: %w", h.Name, core.ErrNickTaken)
	}
	return 0, false, fmt.Errorf("presence/nats: claim %s: contended: %w", h.Name, core.ErrNickTaken)
}

// retryPending tries again the claims the bucket could not be reached
// for, such as while the cluster elects the bucket's new leader after a
// node died.
func (p *Presence) retryPending() {
	p.mu.Lock()
	var pending []string
	for k, c := range p.claims {
		if c.rev == 0 {
			pending = append(pending, k)
		}
	}
	p.mu.Unlock()
	for _, k := range pending {
		p.mu.Lock()
		c := p.claims[k]
		p.mu.Unlock()
		if c == nil || c.rev != 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), retryEvery)
		rev, _, err := p.write(ctx, k, c.holder, c.replaces)
		cancel()
		p.mu.Lock()
		switch {
		case p.claims[k] != c: // released meanwhile
		case err == nil:
			c.rev = rev
		case errors.Is(err, core.ErrNickTaken):
			delete(p.claims, k)
			p.d.log.Warn("presence/nats: a nickname claimed while the bucket was out of reach is another session's", "name", c.holder.Name)
		}
		p.mu.Unlock()
		if err == nil {
			p.d.log.Info("presence/nats: nickname claimed, once the bucket could be reached", "name", c.holder.Name)
		}
	}
}

// retryEvery is how often claims not yet made are tried again.
const retryEvery = time.Second

// keep remembers that this node holds k, to keep it alive.
func (p *Presence) keep(k string, h holder, rev uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims[k] = &claim{holder: h, rev: rev}
}

// Release implements core.Presence.
func (p *Presence) Release(ctx context.Context, name string, session uint64) (takenOver bool, err error) {
	k := key(name)
	p.mu.Lock()
	c := p.claims[k]
	if c == nil || c.holder.Session != sessionHex(session) {
		p.mu.Unlock()
		// Not this node's claim: taken over (refresh found it so), or
		// never made, when the directory could not be reached.
		return p.heldByOther(ctx, k, session)
	}
	delete(p.claims, k)
	rev := c.rev
	p.mu.Unlock()
	if rev == 0 {
		return p.heldByOther(ctx, k, session) // pending: never written
	}
	// Deleted only at the revision this node last wrote: a write since
	// is another server's, whose client resumed there and took it over
	// (or the claim lapsed, and someone took the name).
	err = p.kv.Delete(ctx, k, jetstream.LastRevision(rev))
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("presence/nats: release %s: %w", name, err)
	}
	return false, nil
}

// sameHolder reports whether the bucket value v names h's node and session.
func sameHolder(v []byte, h holder) bool {
	var o holder
	return json.Unmarshal(v, &o) == nil && o.Node == h.Node && o.Session == h.Session
}

// heldByOther reports whether a session other than session holds k.
func (p *Presence) heldByOther(ctx context.Context, k string, session uint64) (bool, error) {
	e, err := p.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("presence/nats: release: %w", err)
	}
	var h holder
	if err := json.Unmarshal(e.Value(), &h); err != nil {
		return false, nil // not a claim udpchat wrote: nobody's
	}
	return h.Session != sessionHex(session), nil
}

// refresh writes every claim this node holds again, every third of the
// TTL, until Close.
func (p *Presence) refresh() {
	t := time.NewTicker(p.d.ttl / 3)
	defer t.Stop()
	retry := time.NewTicker(min(retryEvery, p.d.ttl/3))
	defer retry.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-retry.C:
			p.retryPending()
			continue
		case <-t.C:
		}
		p.mu.Lock()
		keys := make([]string, 0, len(p.claims))
		for k := range p.claims {
			keys = append(keys, k)
		}
		p.mu.Unlock()
		for _, k := range keys {
			p.refreshOne(k)
		}
	}
}

// refreshOne writes the claim on k again, at the revision this node last
// wrote: if another node has written it since (its client resumed there,
// or the claim lapsed and was taken), the claim is no longer this node's.
// Only a holder read from the bucket says so: a write that failed, or
// whose answer was lost (a bucket changing leader), keeps the claim, to
// be written again at the next turn.
func (p *Presence) refreshOne(k string) {
	p.mu.Lock()
	c := p.claims[k]
	p.mu.Unlock()
	if c == nil || c.rev == 0 {
		return // pending: retryPending's
	}
	val, _ := json.Marshal(c.holder) // marshalled once already, in Claim
	ctx, cancel := context.WithTimeout(context.Background(), p.d.ttl/3)
	defer cancel()
	rev, err := p.kv.Update(ctx, k, val, c.rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		e, gerr := p.kv.Get(ctx, k)
		switch {
		case errors.Is(gerr, jetstream.ErrKeyNotFound) || errors.Is(gerr, jetstream.ErrKeyDeleted):
			rev, err = p.kv.Create(ctx, k, val) // lapsed, and free
		case gerr != nil:
			err = gerr
		case sameHolder(e.Value(), c.holder):
			rev, err = p.kv.Update(ctx, k, val, e.Revision()) // our own write, its answer lost
		default:
			p.d.log.Warn("presence/nats: nickname no longer this server's: another session holds it", "name", c.holder.Name)
			p.mu.Lock()
			if p.claims[k] == c {
				delete(p.claims, k)
			}
			p.mu.Unlock()
			return
		}
	}
	if err != nil {
		p.d.log.Warn("presence/nats: claim not refreshed; trying again", "name", c.holder.Name, "err", err)
		return
	}
	p.mu.Lock()
	if p.claims[k] == c {
		c.rev = rev
	}
	p.mu.Unlock()
}

// Users implements core.Presence: it reads the bucket's keys once, through
// a watcher that stops when it has delivered them.
func (p *Presence) Users(ctx context.Context, max int) ([]core.User, int, error) {
	w, err := p.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, 0, fmt.Errorf("presence/nats: users: %w", err)
	}
	defer w.Stop()
	var users []core.User
	total := 0
	for {
		select {
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("presence/nats: users: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, 0, errors.New("presence/nats: users: the watcher stopped")
			}
			if e == nil { // all of them delivered
				slices.SortFunc(users, func(a, b core.User) int { return strings.Compare(core.FoldName(a.Name), core.FoldName(b.Name)) })
				return users, total, nil
			}
			var h holder
			if json.Unmarshal(e.Value(), &h) != nil {
				continue
			}
			total++
			if len(users) < max {
				users = append(users, core.User{Name: h.Name})
			}
		}
	}
}

// letter is a private message on its way to the node holding its
// recipient, and answer that node's verdict.
type letter struct {
	Session string    `json:"session"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Text    string    `json:"text"`
	Time    time.Time `json:"time"`
}

type answer struct {
	NoSuchUser bool   `json:"no_such_user,omitempty"`
	Refused    string `json:"refused,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Send implements core.Presence: it finds who holds m.To in the bucket and
// asks that node to deliver it.
func (p *Presence) Send(ctx context.Context, m *core.Message) error {
	e, err := p.kv.Get(ctx, key(m.To))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return fmt.Errorf("presence/nats: %s: %w", m.To, core.ErrNoSuchUser)
	}
	if err != nil {
		return fmt.Errorf("presence/nats: send to %s: %w", m.To, err)
	}
	var h holder
	if err := json.Unmarshal(e.Value(), &h); err != nil {
		return fmt.Errorf("presence/nats: send to %s: the claim reads %q: %w", m.To, e.Value(), err)
	}
	req, err := json.Marshal(letter{Session: h.Session, From: m.From, To: m.To, Text: m.Text, Time: m.Time})
	if err != nil {
		return fmt.Errorf("presence/nats: send to %s: %w", m.To, err)
	}
	// A node that got the request may never answer (it stopped as the
	// request came, or the answer was lost: core NATS is at most once):
	// the wait is bounded whatever ctx says.
	rctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	reply, err := p.d.nc.RequestWithContext(rctx, SubjectPrefix+h.Node, req)
	if errors.Is(err, natsio.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		// Its node is gone, and the claim waits to lapse.
		return fmt.Errorf("presence/nats: %s (node %s does not answer): %w", m.To, h.Node, core.ErrNoSuchUser)
	}
	if err != nil {
		return fmt.Errorf("presence/nats: send to %s: %w", m.To, err)
	}
	var a answer
	if err := json.Unmarshal(reply.Data, &a); err != nil {
		return fmt.Errorf("presence/nats: send to %s: node %s answers %q: %w", m.To, h.Node, reply.Data, err)
	}
	switch {
	case a.NoSuchUser:
		return fmt.Errorf("presence/nats: %s: %w", m.To, core.ErrNoSuchUser)
	case a.Refused != "":
		return &core.Rejection{Reason: a.Refused}
	case a.Error != "":
		return fmt.Errorf("presence/nats: send to %s: node %s: %s", m.To, h.Node, a.Error)
	}
	return nil
}

// answer hands a letter to the server and replies with its verdict.
func (p *Presence) answer(msg *natsio.Msg) {
	var l letter
	var a answer
	var id uint64
	err := json.Unmarshal(msg.Data, &l)
	if err == nil {
		id, err = strconv.ParseUint(l.Session, 16, 64)
	}
	if err != nil {
		a.Error = "unreadable request: " + err.Error()
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), deliverTimeout)
		err = p.deliver(ctx, id, &core.Message{Kind: core.KindPrivate, From: l.From, To: l.To, Text: l.Text, Time: l.Time})
		cancel()
		var refused *core.Rejection
		switch {
		case err == nil:
		case errors.Is(err, core.ErrNoSuchUser):
			a.NoSuchUser = true
		case errors.As(err, &refused):
			a.Refused = refused.Reason
		default:
			a.Error = err.Error()
		}
	}
	b, _ := json.Marshal(a) // of strings and a bool: it cannot fail
	if err := msg.Respond(b); err != nil {
		p.d.log.Warn("presence/nats: private message not answered", "to", l.To, "err", err)
	}
}

// Close implements core.Presence: it stops answering and refreshing, and
// leaves the claims to lapse (see core.Presence.Close).
func (p *Presence) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := p.sub.Unsubscribe()
	close(p.done)
	p.wg.Wait()
	if err != nil && !errors.Is(err, natsio.ErrConnectionClosed) {
		return fmt.Errorf("presence/nats: close: %w", err)
	}
	return nil
}
