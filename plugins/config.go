package plugins

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Config is one plugin, as the server's configuration lists it.
type Config struct {
	// Name names the plugin in logs and is the sender of what it posts, so
	// it must be a valid nickname (core.CheckNick).
	Name string
	// Path is the plugin's executable; Args are its arguments.
	Path string
	Args []string
	// SHA256 is the hex SHA-256 of the executable, checked before every
	// start, restarts included; "" skips the check.
	SHA256 string
	// Env is added to the server's environment for the plugin, as
	// KEY=VALUE; a key set here wins over the server's.
	Env []string
	// Config is the plugin's own configuration, passed to its Configure.
	Config map[string]string
	// Timeout bounds every call to the plugin; zero means DefaultTimeout.
	Timeout time.Duration
	// FailClosed refuses a message when the plugin fails (crashes, times
	// out, answers garbage, is restarting); the default, fail open, passes
	// it on as if the plugin were not there.
	FailClosed bool
	// Events, if not empty, is what the plugin is sent ("message", "join",
	// "leave", "rename"), instead of what it asks for.
	Events []string
	// Private passes private messages between users to the plugin's
	// OnMessage, as chat and actions are: without it a plugin never reads
	// them. A private message to one of the plugin's own bots reaches it
	// either way, since it is the bot's.
	Private bool
	// StateDir is where the plugin's key-value store lives, created if
	// need be; "" leaves the plugin without one (its KV calls fail).
	// Each plugin needs its own: the server's is DATA_DIR/plugins/NAME.
	StateDir string
}

// DefaultTimeout bounds a call to a plugin when Config.Timeout is zero: a
// local gRPC call takes well under a millisecond (BenchmarkPluginChain), so
// a plugin that needs seconds is stuck, and every message waits for it.
const DefaultTimeout = 2 * time.Second

// check validates c and fills in its defaults.
func (c *Config) check() error {
	if err := core.CheckNick(c.Name); err != nil {
		return fmt.Errorf("plugins: plugin name: %w", err)
	}
	if c.Path == "" {
		return fmt.Errorf("plugins: %s: no path to an executable", c.Name)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("plugins: %s: negative timeout %v", c.Name, c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.SHA256 != "" {
		if b, err := hex.DecodeString(c.SHA256); err != nil || len(b) != 32 {
			return fmt.Errorf("plugins: %s: sha256 %q is not 64 hex digits", c.Name, c.SHA256)
		}
	}
	if _, err := parseEvents(c.Events); err != nil {
		return fmt.Errorf("plugins: %s: events: %w", c.Name, err)
	}
	// Copies, so that the caller's later changes do not reach a running plugin.
	c.Args, c.Env, c.Events = slices.Clone(c.Args), slices.Clone(c.Env), slices.Clone(c.Events)
	c.Config = maps.Clone(c.Config)
	return nil
}

// eventSet is a set of the events a plugin is sent.
type eventSet uint8

const (
	evMessage eventSet = 1 << iota
	evJoin
	evLeave
	evRename
)

// eventNames are the events' names, in the protocol and in configuration.
var eventNames = []struct {
	name string
	ev   eventSet
}{
	{"message", evMessage},
	{"join", evJoin},
	{"leave", evLeave},
	{"rename", evRename},
}

// parseEvents turns names into a set; an unknown name is an error that
// lists the known ones.
func parseEvents(names []string) (eventSet, error) {
	var s eventSet
next:
	for _, n := range names {
		for _, e := range eventNames {
			if e.name == n {
				s |= e.ev
				continue next
			}
		}
		known := make([]string, len(eventNames))
		for j, e := range eventNames {
			known[j] = e.name
		}
		return 0, fmt.Errorf("unknown event %q (known: %s)", n, strings.Join(known, ", "))
	}
	return s, nil
}

// roomEvent is the set bit of a room event's kind.
func roomEvent(k core.RoomEventKind) eventSet {
	switch k {
	case core.EventJoin:
		return evJoin
	case core.EventLeave:
		return evLeave
	case core.EventRename:
		return evRename
	}
	return 0
}

// eventList names the events in s, for logs.
func eventList(s eventSet) string {
	var names []string
	for _, e := range eventNames {
		if s&e.ev != 0 {
			names = append(names, e.name)
		}
	}
	return strings.Join(names, ",")
}
