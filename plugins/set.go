package plugins

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"sync"
	"time"

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
	if err := checkNames(cfgs); err != nil {
		return nil, err
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

// checkNames says which two plugins of cfgs have one name, if two have.
func checkNames(cfgs []Config) error {
	seen := map[string]string{}
	for _, c := range cfgs {
		if other, ok := seen[core.FoldName(c.Name)]; ok {
			return fmt.Errorf("plugins: two plugins are named %q and %q", other, c.Name)
		}
		seen[core.FoldName(c.Name)] = c.Name
	}
	return nil
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

// Reloaded is what a Reload made of a Set.
type Reloaded struct {
	Set *Set // the plugins cfgs describe, in their order
	// Started are those of Set started afresh; Retired those of the old
	// set left out, still running, for the caller to close once nothing
	// hands them messages any more.
	Started, Retired []*Plugin
}

// Reload returns the set cfgs describe, in their order. A plugin of s
// whose configuration is the same and whose executable is the same file,
// unmodified, carries on as it is: its process, its restarts and its
// bots. Every other is started afresh; one that replaces a plugin of the
// same name shares its key-value store. If one fails to start, those
// started are closed and the error says which and why, and s is as it was.
func (s *Set) Reload(ctx context.Context, cfgs []Config, room core.Room, log *slog.Logger) (Reloaded, error) {
	if err := checkNames(cfgs); err != nil {
		return Reloaded{}, err
	}
	old := make(map[string]*Plugin, len(s.plugins))
	for _, p := range s.plugins {
		old[core.FoldName(p.Name())] = p
	}
	r := Reloaded{Set: &Set{}}
	for _, c := range cfgs {
		was := old[core.FoldName(c.Name)]
		if was != nil && was.sameAs(c) {
			r.Set.plugins = append(r.Set.plugins, was)
			delete(old, core.FoldName(c.Name))
			continue
		}
		var kv *kvStore
		if was != nil && was.cfg.StateDir == c.StateDir {
			kv = was.kv
		}
		p, err := start(ctx, c, room, log, kv)
		if err != nil {
			(&Set{plugins: r.Started}).Close()
			return Reloaded{}, err
		}
		r.Started = append(r.Started, p)
		r.Set.plugins = append(r.Set.plugins, p)
	}
	for _, p := range s.plugins {
		if old[core.FoldName(p.Name())] == p {
			r.Retired = append(r.Retired, p)
		}
	}
	return r, nil
}

// Names are the names of ps, in order.
func Names(ps []*Plugin) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name()
	}
	return names
}

// sameAs reports whether c is the configuration p runs with, down to its
// executable's size and modification time: a plugin rebuilt in place is
// a new plugin.
func (p *Plugin) sameAs(c Config) bool {
	if err := c.check(); err != nil {
		return false
	}
	return reflect.DeepEqual(p.cfg, c) && p.exe.ok && p.exe == stampOf(c.Path)
}

// stamp is what identifies an executable's content cheaply.
type stamp struct {
	ok   bool
	size int64
	mod  time.Time
}

// stampOf stamps the executable path names, as exec would find it.
func stampOf(path string) stamp {
	file, err := exec.LookPath(path)
	if err != nil {
		return stamp{}
	}
	fi, err := os.Stat(file)
	if err != nil {
		return stamp{}
	}
	return stamp{ok: true, size: fi.Size(), mod: fi.ModTime()}
}
