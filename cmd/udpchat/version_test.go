package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersion: each of the three programs, built from this checkout with
// its commit stamped (-buildvcs=true, whatever GOFLAGS says), prints one
// line on --version: its name, its version, the commit's first 12 hex
// digits and time, and the Go it was built with; and exits 0.
func TestVersion(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ name, pkg, flag string }{
		{"udpchat", ".", "--version"},
		{"udpchat-server", "../udpchat-server", "--version"},
		{"udpchat-bench", "../udpchat-bench", "-version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin := filepath.Join(dir, tt.name)
			if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, tt.pkg).CombinedOutput(); err != nil {
				t.Fatalf("go build %s: %v\n%s", tt.pkg, err, out)
			}
			out, err := exec.Command(bin, tt.flag).Output()
			if err != nil {
				t.Fatalf("%s %s: %v", tt.name, tt.flag, err)
			}
			re := regexp.MustCompile(`^` + regexp.QuoteMeta(tt.name) + ` \S+ \(rev [0-9a-f]{12}, \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ(, modified)?\) go\d\S*\n$`)
			if !re.Match(out) {
				t.Errorf("%s %s printed %q, want a line matching %s", tt.name, tt.flag, out, re)
			}
			if strings.Count(string(out), "\n") != 1 {
				t.Errorf("%s %s printed %d lines, want one", tt.name, tt.flag, strings.Count(string(out), "\n"))
			}
		})
	}
}
