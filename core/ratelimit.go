package core

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxSources bounds the source addresses whose handshake rate is tracked;
// past it the table starts again, so a spoofer with many addresses costs
// memory only up to this.
const maxSources = 16384

// sourceLimits rate-limits handshakes per source IP address.
type sourceLimits struct {
	mu sync.Mutex
	m  map[netip.Addr]*rate.Limiter
}

// allow reports whether ip may start a handshake now.
func (l *sourceLimits) allow(ip netip.Addr, now time.Time, r rate.Limit, burst int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil || len(l.m) >= maxSources {
		l.m = make(map[netip.Addr]*rate.Limiter)
	}
	lim, ok := l.m[ip]
	if !ok {
		lim = rate.NewLimiter(r, burst)
		l.m[ip] = lim
	}
	return lim.AllowN(now, 1)
}
