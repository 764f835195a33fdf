package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// known returns a known_servers path of the test's own, so that no test
// touches the user's.
func known(t *testing.T) string { return filepath.Join(t.TempDir(), "known_servers") }

// TestMain removes the client binary the terminal tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildErr == nil && builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// needTool stops a test that needs a tool this machine lacks: in CI, whose
// .ci/run installs every such tool, as a failure; elsewhere as a skip that
// says what to install.
func needTool(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}
