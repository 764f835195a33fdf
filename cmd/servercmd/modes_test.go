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
	"github.com/udpchat/udpchat/internal/testkit"
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

// TestConfigPathsFromElsewhere: a configuration that names its data
// directory relative to itself works when the server starts in another
// directory: the key, the stores and the admin socket go next to the
// file, not into the working directory.
func TestConfigPathsFromElsewhere(t *testing.T) {
	confDir := t.TempDir()
	conf := filepath.Join(confDir, "udpchat.yaml")
	if err := os.WriteFile(conf, []byte("server:\n  listen: 127.0.0.1:0\n  data_dir: state\nbroker:\n  mode: memory\nlog:\n  level: error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	t.Chdir(elsewhere)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { done <- servercmd.Run(ctx, []string{"--config", conf}, nil, &stderr) }()
	sock := filepath.Join(confDir, "state", servercmd.AdminSocket)
	testkit.WaitUntil(t, "the admin socket next to the configuration", func() bool {
		_, err := os.Stat(sock)
		return err == nil
	})
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(confDir, "state", identity.KeyFile)); err != nil {
		t.Errorf("no key next to the configuration: %v", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("the server wrote %d entries into its working directory", len(entries))
	}
}
