// Package ratelimit limits what one source may cost the server: token
// buckets per source address, in a table of bounded size.
package ratelimit

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MaxSources bounds the source addresses whose handshake rate is tracked;
// past it the table starts again, so a spoofer with many addresses costs
// memory only up to this.
const MaxSources = 16384

// Sources rate-limits handshakes per source IP address.
type Sources struct {
	mu sync.Mutex
	m  map[netip.Addr]*rate.Limiter
}

// Allow reports whether ip may start a handshake now.
func (l *Sources) Allow(ip netip.Addr, now time.Time, r rate.Limit, burst int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil || len(l.m) >= MaxSources {
		l.m = make(map[netip.Addr]*rate.Limiter)
	}
	lim, ok := l.m[ip]
	if !ok {
		lim = rate.NewLimiter(r, burst)
		l.m[ip] = lim
	}
	return lim.AllowN(now, 1)
}
