package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
)

// Bans keep people off the server: by their client key, their address (or
// a whole prefix of addresses) or a nickname, for a while or until undone.
// A banned key or address gets no session (its KEY_REQ is dropped, and
// logged); a banned nickname is refused to everyone. Bans are kept in a
// file of the server's (OpenBans), like the nickname registrations, so a
// restart keeps them.

// BansFile is the name of the ban store in the server's data directory.
const BansFile = "bans.json"

// MaxBans bounds the bans a server keeps: every ban is checked at every
// handshake and is a line of the file rewritten at every change.
const MaxBans = 10000

const (
	bansVersion = 1
	maxBansFile = MaxBans*512 + 1024
)

// Ban errors.
var (
	ErrBansFull  = errors.New("the server holds as many bans as it keeps")
	ErrNotBanned = errors.New("not banned")
)

// Ban is one ban.
type Ban struct {
	// Target is what is banned: "key:" and a key's fingerprint
	// (identity.Fingerprint), "ip:" and an address or a prefix, or
	// "nick:" and a folded nickname (ParseBanTarget).
	Target string    `json:"target"`
	Until  time.Time `json:"until,omitzero"` // zero: until unbanned
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
}

// activeAt reports whether the ban holds at now.
func (b Ban) activeAt(now time.Time) bool { return b.Until.IsZero() || now.Before(b.Until) }

// String describes the ban for people.
func (b Ban) String() string {
	s := b.Target
	if !b.Until.IsZero() {
		s += " until " + b.Until.UTC().Format(time.RFC3339)
	}
	s += " by " + b.By
	if b.Reason != "" {
		s += ": " + b.Reason
	}
	return s
}

// ParseBanTarget reads a ban's target as an operator writes it:
// key:FINGERPRINT, ip:ADDRESS, ip:PREFIX (10.0.0.0/8) or nick:NAME. It
// returns it in the one form bans compare.
func ParseBanTarget(s string) (string, error) {
	kind, v, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("a ban's target is NAME, key:FINGERPRINT, ip:ADDRESS, ip:PREFIX or nick:NAME, not %q", s)
	}
	switch kind {
	case "key":
		if err := identity.CheckFingerprint(v); err != nil {
			return "", err
		}
		return "key:" + v, nil
	case "ip":
		if p, err := netip.ParsePrefix(v); err == nil {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr())).Masked()
			return "ip:" + p.String(), nil
		}
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return "", fmt.Errorf("ip:%s is neither an address nor a prefix", v)
		}
		return "ip:" + a.Unmap().String(), nil
	case "nick":
		if err := core.CheckNick(v); err != nil {
			return "", err
		}
		return "nick:" + core.FoldName(v), nil
	}
	return "", fmt.Errorf("a ban's target is NAME, key:FINGERPRINT, ip:ADDRESS, ip:PREFIX or nick:NAME, not %q", s)
}

// unmapBits is how many bits of a prefix of a an IPv4-mapped address are
// its mapping, which Unmap takes away.
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

// Bans is the server's ban list, in a file or in memory only.
type Bans struct {
	path string
	mu   sync.Mutex
	list []Ban // by Target, one each
}

type bansFile struct {
	Version int   `json:"version"`
	Bans    []Ban `json:"bans"`
}

// NewBans returns an empty ban list kept in memory only.
func NewBans() *Bans { return &Bans{} }

// OpenBans reads the ban list kept at path, or starts an empty one there.
// A file that is not a ban list within the bounds is an error naming it:
// the server must not start and forget whom it banned.
func OpenBans(path string) (*Bans, error) {
	b := &Bans{path: path}
	var file bansFile
	found, err := readStore(path, "bans", maxBansFile, &file)
	if err != nil || !found {
		return b, err
	}
	if file.Version != bansVersion {
		return nil, fmt.Errorf("bans %s: version %d, want %d (move it away to start with none)", path, file.Version, bansVersion)
	}
	if len(file.Bans) > MaxBans {
		return nil, fmt.Errorf("bans %s: %d bans, at most %d (move it away to start with none)", path, len(file.Bans), MaxBans)
	}
	for i, ban := range file.Bans {
		target, err := ParseBanTarget(ban.Target)
		if err != nil || target != ban.Target || checkTopic(ban.Reason) != nil || len(ban.By) > core.MaxName {
			return nil, fmt.Errorf("bans %s: ban %d (%q) is not one this server writes (move it away to start with none)", path, i, ban.Target)
		}
		if slices.ContainsFunc(b.list, func(o Ban) bool { return o.Target == ban.Target }) {
			return nil, fmt.Errorf("bans %s: %s is banned twice (move it away to start with none)", path, ban.Target)
		}
		b.list = append(b.list, ban)
	}
	return b, nil
}

// reload reads the list again from its file and returns how many bans it
// holds; a file that is not a ban list leaves the list as it was.
func (b *Bans) reload() (int, error) {
	if b.path == "" {
		return 0, errors.New("bans: the list is kept in memory only")
	}
	fresh, err := OpenBans(b.path)
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.list = fresh.list
	return len(b.list), nil
}

// Add bans ban.Target, replacing any ban of it, and saves the list. Bans
// that are over are dropped first; a list it could not save is left as it
// was.
func (b *Bans) Add(ban Ban, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.list
	list := slices.DeleteFunc(slices.Clone(old), func(o Ban) bool { return o.Target == ban.Target || !o.activeAt(now) })
	if len(list) >= MaxBans {
		return ErrBansFull
	}
	b.list = append(list, ban)
	if err := b.saveLocked(); err != nil {
		b.list = old
		return err
	}
	return nil
}

// Remove lifts the ban of target and saves the list.
func (b *Bans) Remove(target string, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.IndexFunc(b.list, func(o Ban) bool { return o.Target == target && o.activeAt(now) })
	if i < 0 {
		return ErrNotBanned
	}
	old := b.list
	b.list = slices.Delete(slices.Clone(old), i, i+1)
	if err := b.saveLocked(); err != nil {
		b.list = old
		return err
	}
	return nil
}

// List returns the bans that hold at now.
func (b *Bans) List(now time.Time) []Ban {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Ban
	for _, ban := range b.list {
		if ban.activeAt(now) {
			out = append(out, ban)
		}
	}
	return out
}

// Match returns the ban that holds at now against a client with key (nil
// for none), address addr and nickname nick ("" for none to check), if
// one does.
func (b *Bans) Match(now time.Time, key ed25519.PublicKey, addr netip.Addr, nick string) (Ban, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.list) == 0 {
		return Ban{}, false
	}
	var keyTarget string
	if key != nil {
		keyTarget = "key:" + identity.Fingerprint(key)
	}
	addr = addr.Unmap()
	for _, ban := range b.list {
		if !ban.activeAt(now) {
			continue
		}
		kind, v, _ := strings.Cut(ban.Target, ":")
		switch kind {
		case "key":
			if ban.Target == keyTarget {
				return ban, true
			}
		case "ip":
			if p, err := netip.ParsePrefix(v); err == nil && p.Contains(addr) {
				return ban, true
			}
			if a, err := netip.ParseAddr(v); err == nil && a == addr {
				return ban, true
			}
		case "nick":
			if nick != "" && v == core.FoldName(nick) {
				return ban, true
			}
		}
	}
	return Ban{}, false
}

func (b *Bans) saveLocked() error {
	if b.path == "" {
		return nil
	}
	file := bansFile{Version: bansVersion, Bans: b.list}
	return writeStore(b.path, "bans", file)
}

// maxBanFor bounds how long a ban given with a duration lasts.
const maxBanFor = 10 * 365 * 24 * time.Hour

// resolveBan turns what an operator names into a ban's target, and how
// the room is told of it: a connected NAME is banned by its client key,
// or, without one, by its address; the other forms are ParseBanTarget's.
func (s *Server) resolveBan(name string) (target, shown string, err error) {
	if strings.Contains(name, ":") {
		target, err = ParseBanTarget(name)
		if err != nil {
			return "", "", err
		}
		kind, v, _ := strings.Cut(target, ":")
		switch kind {
		case "nick":
			return target, "the nickname " + v, nil
		case "key":
			return target, "a key", nil
		}
		return target, "an address", nil // not told to everyone
	}
	sess := s.sessions.nick(name)
	if sess == nil || !sess.confirmed.Load() {
		return "", "", fmt.Errorf("no %s here: ban key:FINGERPRINT, ip:ADDRESS or nick:NAME instead", name)
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if id := sess.keyIDLocked(); id != "" {
		return "key:" + id, sess.name, nil
	}
	return "ip:" + sess.addr.Addr().Unmap().String(), sess.name, nil
}

// Ban bans what name names (resolveBan) for d (0: until unbanned), by
// by, for reason; ends the sessions it holds against, each told why; and
// tells the lobby.
func (s *Server) Ban(ctx context.Context, name string, d time.Duration, by, reason string) (Ban, error) {
	if d < 0 || d > maxBanFor {
		return Ban{}, fmt.Errorf("a ban lasts a second to ten years, or until it is lifted")
	}
	if err := checkTopic(reason); err != nil {
		return Ban{}, fmt.Errorf("a reason %s", strings.TrimPrefix(err.Error(), "a topic "))
	}
	target, shown, err := s.resolveBan(name)
	if err != nil {
		return Ban{}, err
	}
	now := s.cfg.Now()
	ban := Ban{Target: target, By: by, Reason: reason, Since: now.UTC()}
	if d > 0 {
		ban.Until = now.Add(d).UTC()
	}
	if err := s.bans.Add(ban, now); err != nil {
		return Ban{}, err
	}
	s.log.Info("moderation", "action", "ban", "by", by, "target", target, "until", ban.Until, "reason", reason)
	what := by + " banned " + shown
	if d > 0 {
		what += " for " + d.String()
	}
	if reason != "" {
		what += ": " + reason
	}
	s.announce(ctx, s.lobby, what, 0)
	s.dismissBanned(ctx, what)
	return ban, nil
}

// dismissBanned turns out every session a ban holds against, each told
// why: what, or, if what is "", the ban's own words.
func (s *Server) dismissBanned(ctx context.Context, what string) {
	now := s.cfg.Now()
	for _, sess := range s.sessions.all(0) {
		sess.mu.Lock()
		ban, hit := s.bans.Match(now, sess.key, sess.addr.Addr(), sess.name)
		sess.mu.Unlock()
		if !hit {
			continue
		}
		why := what
		if why == "" {
			why = ban.By + " banned you"
			if ban.Reason != "" {
				why += ": " + ban.Reason
			}
		}
		s.dismiss(ctx, sess, "banned", "you are banned from this server: "+why)
	}
}

// Unban lifts the ban of what name names.
func (s *Server) Unban(ctx context.Context, name, by string) error {
	target, shown, err := s.resolveBan(name)
	if err != nil && !strings.Contains(name, ":") {
		// Not here: it may be a nickname banned while it was not.
		target, shown, err = "nick:"+core.FoldName(name), name, core.CheckNick(name)
	}
	if err != nil {
		return err
	}
	if err := s.bans.Remove(target, s.cfg.Now()); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	s.log.Info("moderation", "action", "unban", "by", by, "target", target)
	s.announce(ctx, s.lobby, by+" lifted the ban of "+shown, 0)
	return nil
}

// BanList lists the bans that hold now.
func (s *Server) BanList() []Ban { return s.bans.List(s.cfg.Now()) }

func (s *Server) runBan(ctx context.Context, sess *session, _ *core.Message, arg string, _ core.Handler) error {
	if !s.isOperator(sess) {
		return &core.Rejection{Reason: "only the server's operators ban"}
	}
	name, rest, _ := strings.Cut(arg, " ")
	if name == "" {
		return &core.Rejection{Reason: "usage: /ban NAME|key:FINGERPRINT|ip:ADDRESS|nick:NAME [DURATION] [REASON]"}
	}
	var d time.Duration
	first, reason, _ := strings.Cut(strings.TrimSpace(rest), " ")
	if v, err := time.ParseDuration(first); err == nil {
		d = v
		if d < time.Second {
			return &core.Rejection{Reason: "a ban lasts a second to ten years, or until it is lifted"}
		}
	} else {
		reason = strings.TrimSpace(rest)
	}
	if _, err := s.Ban(ctx, name, d, sess.displayName(), strings.TrimSpace(reason)); err != nil {
		return &core.Rejection{Reason: err.Error()}
	}
	return nil
}

func (s *Server) runUnban(ctx context.Context, sess *session, _ *core.Message, arg string, _ core.Handler) error {
	if !s.isOperator(sess) {
		return &core.Rejection{Reason: "only the server's operators ban"}
	}
	if arg == "" || strings.Contains(arg, " ") {
		return &core.Rejection{Reason: "usage: /unban NAME|key:FINGERPRINT|ip:ADDRESS|nick:NAME"}
	}
	if err := s.Unban(ctx, arg, sess.displayName()); err != nil {
		return &core.Rejection{Reason: err.Error()}
	}
	return nil
}

func (s *Server) runBans(_ context.Context, sess *session, _ *core.Message, _ string, _ core.Handler) error {
	if !s.isOperator(sess) {
		return &core.Rejection{Reason: "only the server's operators ban"}
	}
	bans := s.BanList()
	if len(bans) == 0 {
		s.notify(sess, core.KindSystem, "nobody is banned")
		return nil
	}
	items := make([]string, len(bans))
	for i, ban := range bans {
		items[i] = ban.String()
	}
	s.notify(sess, core.KindSystem, listing("ban", items))
	return nil
}
