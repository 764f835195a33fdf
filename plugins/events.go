package plugins

import (
	"context"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/handlerpb"
)

// RoomEvent implements core.RoomObserver. The server calls it from its own
// goroutines and must never wait on a plugin, so the event is queued for
// the plugin's sender goroutine, or dropped (and logged) when the queue is
// full.
func (p *Plugin) RoomEvent(_ context.Context, e core.RoomEvent) {
	if eventSet(p.wants.Load())&roomEvent(e.Kind) == 0 || p.ctx.Err() != nil {
		return
	}
	select {
	case p.events <- e:
	default:
		p.log.Warn("plugin falls behind; room event dropped", "event", e.Kind.String(), "name", e.Name)
	}
}

// sendEvents hands queued room events to the plugin, one at a time, each
// within the plugin's timeout, until Close.
func (p *Plugin) sendEvents() {
	for {
		select {
		case <-p.ctx.Done():
			return
		case e := <-p.events:
			err := p.call(p.ctx, func(ctx context.Context, h handlerpb.HandlerClient) error {
				_, err := h.OnRoomEvent(ctx, &handlerpb.RoomEvent{
					Event:   e.Kind.String(),
					Name:    e.Name,
					NewName: e.NewName,
					Why:     e.Why,
					TsMs:    e.Time.UnixMilli(),
				})
				return err
			})
			if err != nil && p.ctx.Err() == nil {
				p.log.Warn("room event not delivered", "event", e.Kind.String(), "name", e.Name, "err", err)
			}
		}
	}
}
