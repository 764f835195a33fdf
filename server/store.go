package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/udpchat/udpchat/identity"
)

// The server's small stores (nickname registrations, bans) are each one
// JSON file in the data directory, read whole at startup and rewritten
// whole, atomically, at every change: they change rarely, and a crash
// must leave the old file or the new, never half of one.

// storeMode is a store file's mode: what it says is the server's alone.
const storeMode = 0o600

// readStore decodes the store file at path, of at most limit bytes, into
// v, strictly: one JSON object with no field v lacks. It reports false
// without error if there is no file yet. Errors name what the file is.
func readStore(path, what string, limit int, v any) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return false, fmt.Errorf("%s: reading %s: %w", what, path, err)
	}
	if len(data) > limit {
		return false, fmt.Errorf("%s %s: larger than %d bytes, more than the store keeps", what, path, limit)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return false, fmt.Errorf("%s %s: not a %s file: %w (move it away to start with none)", what, path, what, err)
	}
	if dec.More() {
		return false, fmt.Errorf("%s %s: not a %s file: more after its object (move it away to start with none)", what, path, what)
	}
	return true, nil
}

// writeStore writes v to the store file at path, atomically.
func writeStore(path, what string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: encoding: %w", what, err)
	}
	if err := identity.WriteAtomic(path, append(data, '\n'), storeMode); err != nil {
		return fmt.Errorf("%s: writing %s: %w", what, path, err)
	}
	return nil
}
