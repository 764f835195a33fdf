package servercmd_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/cmd/servercmd"
	"github.com/udpchat/udpchat/identity"
)

// TestUnsafeDataDirRefused (issue 15, finding 15): a data directory that
// group or others may write lets them replace the server's key (the key
// file's own mode does not stop a rename over it), so the server refuses
// it at startup, exit 1, with one line naming the directory, as SSH's
// StrictModes does; with or without a key in it yet.
func TestUnsafeDataDirRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		mode os.FileMode
		key  bool
	}{
		{"world-writable, key 0600", 0o777, true},
		{"group-writable, key 0600", 0o770, true},
		{"world-writable, no key yet", 0o777, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if tt.key {
				if _, _, err := identity.LoadOrCreate(dir); err != nil {
					t.Fatal(err)
				}
			} else if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			// The bound is for the code before the fix, which served on.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			code := servercmd.Run(ctx, []string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "error"}, nil, &stderr)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], dir) || !strings.Contains(lines[0], "writable by group or others") {
				t.Fatalf("exit %d, stderr %q; want exit 1 and one line naming %s as writable by group or others", code, stderr.String(), dir)
			}
		})
	}
}
