package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
)

// TestUnsafeKnownServersRefused (issue 15, finding 15): a known_servers
// file, or its directory, that group or others may write lets them pin a
// key of their own, so the client refuses it before it connects, with one
// line saying what and where, as SSH's StrictModes does.
func TestUnsafeKnownServersRefused(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	for _, tt := range []struct {
		name              string
		dirMode, fileMode os.FileMode
		blame             string // "dir" or "file"
	}{
		{"world-writable directory", 0o777, 0o600, "dir"},
		{"group-writable directory", 0o770, 0o600, "dir"},
		{"world-writable file", 0o700, 0o666, "file"},
		{"group-writable file", 0o700, 0o620, "file"},
		{"world-writable directory, no file yet", 0o777, 0, "dir"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "udpchat")
			file := filepath.Join(dir, "known_servers")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if tt.fileMode != 0 {
				if err := os.WriteFile(file, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(file, tt.fileMode); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			blamed := dir
			if tt.blame == "file" {
				blamed = file
			}
			var stderr bytes.Buffer
			code := run(context.Background(), []string{"--plain", "--log-file", filepath.Join(t.TempDir(), "log"), "--known-servers", file, room.Addr.String()},
				nil, strings.NewReader("hi\n"), &bytes.Buffer{}, &stderr)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], blamed+" is writable by group or others") {
				t.Fatalf("exit %d, stderr %q; want exit 1 and one line saying %s is writable by group or others", code, stderr.String(), blamed)
			}
		})
	}
}
