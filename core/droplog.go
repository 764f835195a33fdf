package core

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// dropLog logs dropped datagrams without letting a flood of garbage flood the
// log: at most dropBurst lines per dropWindow, then one line saying how many
// were left out.
type dropLog struct {
	log *slog.Logger

	mu         sync.Mutex
	windowFrom time.Time
	logged     int
	suppressed int
}

const (
	dropBurst  = 20
	dropWindow = time.Second
)

func (d *dropLog) drop(now time.Time, from netip.AddrPort, reason string, err error) {
	d.mu.Lock()
	if now.Sub(d.windowFrom) >= dropWindow {
		if d.suppressed > 0 {
			d.log.Warn("dropped datagrams not logged", "count", d.suppressed, "window", dropWindow)
		}
		d.windowFrom, d.logged, d.suppressed = now, 0, 0
	}
	if d.logged >= dropBurst {
		d.suppressed++
		d.mu.Unlock()
		return
	}
	d.logged++
	d.mu.Unlock()
	attrs := []slog.Attr{slog.String("from", from.String()), slog.String("reason", reason)}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	d.log.LogAttrs(context.Background(), slog.LevelWarn, "dropped datagram", attrs...)
}
