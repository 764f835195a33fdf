// Package droplog logs the datagrams an engine drops, at a bounded rate, so
// that a flood of garbage cannot flood the log too.
package droplog

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Log logs dropped datagrams without letting a flood of garbage flood the
// log: at most Burst lines per Window, then one line saying how many
// were left out.
type Log struct {
	Logger *slog.Logger

	mu         sync.Mutex
	windowFrom time.Time
	logged     int
	suppressed int
}

const (
	Burst  = 20
	Window = time.Second
)

func (d *Log) Drop(now time.Time, from netip.AddrPort, reason string, err error) {
	d.mu.Lock()
	if now.Sub(d.windowFrom) >= Window {
		if d.suppressed > 0 {
			d.Logger.Warn("dropped datagrams not logged", "count", d.suppressed, "window", Window)
		}
		d.windowFrom, d.logged, d.suppressed = now, 0, 0
	}
	if d.logged >= Burst {
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
	d.Logger.LogAttrs(context.Background(), slog.LevelWarn, "dropped datagram", attrs...)
}
