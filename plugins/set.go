package plugins

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/udpchat/udpchat/core"
)

// Set is the server's plugins, in their configured order: the order in
// which they see each message.
type Set struct {
	plugins []*Plugin
}

// StartAll starts every plugin of cfgs, in order, all with room and log.
// If one fails to start, those already started are closed and the error
// says which failed and why. Names must differ, as nicknames do (in any
// case), since each names its plugin in logs, in the room and in the path
// of its state.
func StartAll(ctx context.Context, cfgs []Config, room core.Room, log *slog.Logger) (*Set, error) {
	seen := map[string]string{}
	for _, c := range cfgs {
		if other, ok := seen[core.FoldName(c.Name)]; ok {
			return nil, fmt.Errorf("plugins: two plugins are named %q and %q", other, c.Name)
		}
		seen[core.FoldName(c.Name)] = c.Name
	}
	s := &Set{}
	for _, c := range cfgs {
		p, err := Start(ctx, c, room, log)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.plugins = append(s.plugins, p)
	}
	return s, nil
}

// Plugins returns the plugins, in order.
func (s *Set) Plugins() []*Plugin { return append([]*Plugin(nil), s.plugins...) }

// Middlewares returns the plugins' handlers, in order, for
// server.Config.Handlers.
func (s *Set) Middlewares() []core.Middleware {
	mw := make([]core.Middleware, len(s.plugins))
	for i, p := range s.plugins {
		mw[i] = p.Middleware()
	}
	return mw
}

// Observers returns the plugins as room observers, in order, for
// server.Config.Observers.
func (s *Set) Observers() []core.RoomObserver {
	obs := make([]core.RoomObserver, len(s.plugins))
	for i, p := range s.plugins {
		obs[i] = p
	}
	return obs
}

// States maps each plugin's name to its State, for logs and status.
func (s *Set) States() map[string]string {
	m := make(map[string]string, len(s.plugins))
	for _, p := range s.plugins {
		m[p.Name()] = p.State()
	}
	return m
}

// Close stops every plugin, all at once, since each may take seconds to
// end, and returns when all have.
func (s *Set) Close() {
	var wg sync.WaitGroup
	for _, p := range s.plugins {
		wg.Go(p.Close)
	}
	wg.Wait()
}
