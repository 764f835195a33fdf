package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Presence in a large room. Telling everyone of every join costs a datagram
// per member per join: a thousand clients joining make a million
// announcements, which crowd out the chat. Up to presenceBatchAt sessions
// each join and leave is announced at once, on its own; beyond that they
// are gathered and announced together ("alice, bob and 37 others joined")
// at most every presenceEvery.
const (
	presenceBatchAt = 64
	presenceEvery   = 500 * time.Millisecond
	presenceNames   = 3 // names listed before "and N others"
)

// presenceGroup is the pending announcements of one kind ("joined", "timed
// out", …), in order of first appearance.
type presenceGroup struct {
	what  string
	names []string // the first presenceNames
	n     int
}

type presenceQueue struct {
	mu      sync.Mutex
	groups  []*presenceGroup // a handful: one per kind of event
	joining map[uint64]bool  // sessions whose join is pending
	last    time.Time        // the last flush
}

// presence announces that name (session id) did what: at once in a small
// room, or with others at the next flush in a large one.
func (s *Server) presence(ctx context.Context, id uint64, name, what string) {
	if s.sessions.len() < presenceBatchAt {
		s.announce(ctx, s.lobby, name+" "+what, id)
		return
	}
	q := &s.gathered
	q.mu.Lock()
	defer q.mu.Unlock()
	var g *presenceGroup
	for _, x := range q.groups {
		if x.what == what {
			g = x
		}
	}
	if g == nil {
		g = &presenceGroup{what: what}
		q.groups = append(q.groups, g)
	}
	if len(g.names) < presenceNames {
		g.names = append(g.names, name)
	}
	g.n++
	if what == "joined" {
		if q.joining == nil {
			q.joining = make(map[uint64]bool)
		}
		q.joining[id] = true
	}
}

// flushPresence announces what is pending, if the last flush was long
// enough ago or force is set.
func (s *Server) flushPresence(ctx context.Context, now time.Time, force bool) {
	q := &s.gathered
	q.mu.Lock()
	if len(q.groups) == 0 || !force && now.Sub(q.last) < presenceEvery {
		q.mu.Unlock()
		return
	}
	groups := q.groups
	q.groups, q.joining, q.last = nil, nil, now
	q.mu.Unlock()
	for _, g := range groups {
		s.announce(ctx, s.lobby, g.text(), 0)
	}
}

// joinPending reports whether id's join is waiting to be announced.
func (s *Server) joinPending(id uint64) bool {
	q := &s.gathered
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.joining[id]
}

func (g *presenceGroup) text() string {
	switch others := g.n - len(g.names); {
	case others > 0:
		return fmt.Sprintf("%s and %d other%s %s", strings.Join(g.names, ", "), others, plural(others), g.what)
	case g.n == 1:
		return g.names[0] + " " + g.what
	default:
		last := len(g.names) - 1
		return strings.Join(g.names[:last], ", ") + " and " + g.names[last] + " " + g.what
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
