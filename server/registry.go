package server

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/udpchat/udpchat/core"
)

// RegistrationsFile is the name of the nickname store in the server's data
// directory (OpenRegistrations).
const RegistrationsFile = "nicknames.json"

// The store's bounds: every registration costs a line of the file and a
// rewrite of it, and keys cost nothing to make, so a server keeps at most
// MaxRegistrations of them, at most MaxNamesPerKey for one key, and reads
// no file larger than what that many take.
const (
	MaxRegistrations = 10000
	MaxNamesPerKey   = 4
	maxRegistryFile  = MaxRegistrations*256 + 1024 // a registration is about 130 bytes in the file
	registryVersion  = 1
)

// Registration errors, which /register and /unregister turn into their
// refusals.
var (
	ErrRegisteredToAnother = errors.New("registered to another key")
	ErrNotRegistered       = errors.New("not registered")
	ErrRegistryFull        = errors.New("the server holds as many registrations as it keeps")
	ErrTooManyNames        = errors.New("your key has as many nicknames registered as one key may")
)

// Registrations are the nicknames registered to client keys: a registered
// name is given only to a session that proved its key in its handshake.
// They are kept in a file of the server's (OpenRegistrations), or in
// memory only (NewRegistrations). With several servers sharing a room,
// each has its own: registration is local to a node.
//
// Every change is written to the file before it counts, atomically
// (identity.WriteAtomic), so that a crash leaves the old store or the new.
// Registrations are rare, so the file is rewritten whole each time.
type Registrations struct {
	path string // "" keeps them in memory only

	mu     sync.Mutex
	byName map[string]registration // by folded name
}

// registration is one nickname's owner, as the file keeps it.
type registration struct {
	Name  string            `json:"name"`
	Key   ed25519.PublicKey `json:"key"` // base64 in the file
	Since time.Time         `json:"since"`
}

// registryFile is the form of the file.
type registryFile struct {
	Version   int            `json:"version"`
	Nicknames []registration `json:"nicknames"`
}

// NewRegistrations returns an empty store kept in memory only, lost when
// the server stops.
func NewRegistrations() *Registrations {
	return &Registrations{byName: make(map[string]registration)}
}

// OpenRegistrations reads the store kept at path, or starts an empty one
// there if there is no file yet (it is written at the first
// registration). A file that cannot be read, is too large, or holds
// anything but valid registrations within the bounds is an error naming
// the file: the server must not start and forget who owns which name.
func OpenRegistrations(path string) (*Registrations, error) {
	r := &Registrations{path: path, byName: make(map[string]registration)}
	var file registryFile
	found, err := readStore(path, "nickname registrations", maxRegistryFile, &file)
	if err != nil || !found {
		return r, err
	}
	if err := r.take(file); err != nil {
		return nil, fmt.Errorf("nickname registrations %s: %w (move it away to start with none)", path, err)
	}
	return r, nil
}

// take fills r, which is empty, from the file's contents.
func (r *Registrations) take(file registryFile) error {
	if file.Version != registryVersion {
		return fmt.Errorf("version %d, want %d", file.Version, registryVersion)
	}
	if len(file.Nicknames) > MaxRegistrations {
		return fmt.Errorf("%d registrations, at most %d", len(file.Nicknames), MaxRegistrations)
	}
	perKey := map[string]int{}
	for i, reg := range file.Nicknames {
		if err := core.CheckNick(reg.Name); err != nil {
			return fmt.Errorf("registration %d: %w", i, err)
		}
		if len(reg.Key) != ed25519.PublicKeySize {
			return fmt.Errorf("registration %d (%s): a key of %d bytes, want %d", i, reg.Name, len(reg.Key), ed25519.PublicKeySize)
		}
		if _, dup := r.byName[core.FoldName(reg.Name)]; dup {
			return fmt.Errorf("registration %d: %s is registered twice", i, reg.Name)
		}
		if perKey[string(reg.Key)]++; perKey[string(reg.Key)] > MaxNamesPerKey {
			return fmt.Errorf("registration %d (%s): its key has more than %d names", i, reg.Name, MaxNamesPerKey)
		}
		r.byName[core.FoldName(reg.Name)] = reg
	}
	return nil
}

// Owner returns the key name is registered to, or nil if it is not.
func (r *Registrations) Owner(name string) ed25519.PublicKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byName[core.FoldName(name)].Key
}

// Len is how many names are registered.
func (r *Registrations) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byName)
}

// Register registers name to key, and saves the store; registering a name
// again to its own key changes nothing. It refuses a name registered to
// another key (ErrRegisteredToAnother), and one past the bounds
// (ErrRegistryFull, ErrTooManyNames); a store it could not save is left
// as it was.
func (r *Registrations) Register(name string, key ed25519.PublicKey, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := core.FoldName(name)
	if old, ok := r.byName[k]; ok {
		if !old.Key.Equal(key) {
			return ErrRegisteredToAnother
		}
		return nil
	}
	if len(r.byName) >= MaxRegistrations {
		return ErrRegistryFull
	}
	if r.namesOfLocked(key) >= MaxNamesPerKey {
		return ErrTooManyNames
	}
	r.byName[k] = registration{Name: name, Key: slices.Clone(key), Since: now.UTC()}
	if err := r.saveLocked(); err != nil {
		delete(r.byName, k)
		return err
	}
	return nil
}

// Unregister frees name, if key owns it, and saves the store.
func (r *Registrations) Unregister(name string, key ed25519.PublicKey) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := core.FoldName(name)
	old, ok := r.byName[k]
	switch {
	case !ok:
		return ErrNotRegistered
	case !old.Key.Equal(key):
		return ErrRegisteredToAnother
	}
	delete(r.byName, k)
	if err := r.saveLocked(); err != nil {
		r.byName[k] = old
		return err
	}
	return nil
}

// namesOfLocked counts the names registered to key.
func (r *Registrations) namesOfLocked(key ed25519.PublicKey) int {
	n := 0
	for _, reg := range r.byName {
		if reg.Key.Equal(key) {
			n++
		}
	}
	return n
}

// saveLocked writes the store to its file, sorted by name so that the file
// changes only where the registrations do.
func (r *Registrations) saveLocked() error {
	if r.path == "" {
		return nil
	}
	file := registryFile{Version: registryVersion, Nicknames: make([]registration, 0, len(r.byName))}
	for _, reg := range r.byName {
		file.Nicknames = append(file.Nicknames, reg)
	}
	slices.SortFunc(file.Nicknames, func(a, b registration) int {
		return strings.Compare(core.FoldName(a.Name), core.FoldName(b.Name))
	})
	return writeStore(r.path, "nickname registrations", file)
}
