package plugins

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unicode/utf8"
)

// kvLimits bound a plugin's key-value store. Its bytes are in bytes.
type kvLimits struct {
	keys, key, value, total int
}

// defaultKVLimits are every plugin's: a store is for a plugin's small
// state (a counter, a few settings), kept in memory and written whole on
// every change, so it stays small. sdk.Store says them to plugin authors.
var defaultKVLimits = kvLimits{keys: 1024, key: 256, value: 64 << 10, total: 1 << 20}

// kvFile is the store's file, in Config.StateDir.
const kvFile = "kv.json"

// Errors of a set that the plugin asked wrongly, for errors.Is.
var (
	errKVFull   = errors.New("key-value store full") // past a bound
	errKVBadKey = errors.New("bad key")
)

// kvStore is one plugin's key-value store: a map, written to a file in
// its state directory on every change (to a temporary file, then renamed
// over the old one, so that a crash leaves the old state or the new, never
// half of one). It outlives the plugin's processes, so a restarted
// plugin finds its state, as does a restarted server.
type kvStore struct {
	mu     sync.Mutex
	path   string
	limits kvLimits
	data   map[string][]byte
	total  int // bytes of keys and values
}

// openKV opens the store in dir, creating dir if need be.
func openKV(dir string) (*kvStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key-value store: %w", err)
	}
	s := &kvStore{path: filepath.Join(dir, kvFile), limits: defaultKVLimits, data: map[string][]byte{}}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("key-value store: %w", err)
	}
	if err := json.Unmarshal(b, &s.data); err != nil {
		return nil, fmt.Errorf("key-value store: %s: %w", s.path, err)
	}
	for k, v := range s.data {
		s.total += len(k) + len(v)
	}
	return s, nil
}

// get returns key's value, and whether the store holds key.
func (s *kvStore) get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	return v, ok
}

// set stores value under key, unless that takes the store past a bound:
// then the error says which, and the store is as it was.
func (s *kvStore) set(key string, value []byte) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", errKVBadKey)
	case !utf8.ValidString(key):
		// The file is JSON, whose keys are text: another byte would be
		// read back as U+FFFD, a key other than the one set.
		return fmt.Errorf("%w: not valid UTF-8", errKVBadKey)
	case len(key) > s.limits.key:
		return fmt.Errorf("%w: a key has at most %d bytes, this one %d", errKVFull, s.limits.key, len(key))
	case len(value) > s.limits.value:
		return fmt.Errorf("%w: a value has at most %d bytes, this one %d", errKVFull, s.limits.value, len(value))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.data[key]
	total := s.total + len(value) - len(old)
	if !had {
		if len(s.data) >= s.limits.keys {
			return fmt.Errorf("%w: it holds %d keys, the most it may", errKVFull, s.limits.keys)
		}
		total += len(key)
	}
	if total > s.limits.total {
		return fmt.Errorf("%w: it would hold %d bytes, at most %d", errKVFull, total, s.limits.total)
	}
	s.data[key] = append([]byte(nil), value...)
	if err := s.save(); err != nil {
		if had {
			s.data[key] = old
		} else {
			delete(s.data, key)
		}
		return err
	}
	s.total = total
	return nil
}

// delete removes key; a key the store does not hold is no error.
func (s *kvStore) delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.data[key]
	if !had {
		return nil
	}
	delete(s.data, key)
	if err := s.save(); err != nil {
		s.data[key] = old
		return err
	}
	s.total -= len(key) + len(old)
	return nil
}

// save writes the map to the file, with s.mu held.
func (s *kvStore) save() error {
	b, err := json.Marshal(s.data)
	if err != nil {
		return fmt.Errorf("key-value store: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), kvFile+".*")
	if err != nil {
		return fmt.Errorf("key-value store: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; else a leftover
	if _, err := tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("key-value store: %w", err)
	}
	return nil
}
