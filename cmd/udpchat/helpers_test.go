package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func newPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// known returns a known_servers path of the test's own, so that no test
// touches the user's.
func known(t *testing.T) string { return filepath.Join(t.TempDir(), "known_servers") }

// TestMain removes the client binary the terminal tests built.
func TestMain(m *testing.M) {
	// Each client run here keeps its identity key in the default data
	// directory, created on first use: the tests', never the user's.
	data, err := os.MkdirTemp("", "udpchat-data-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", data)
	code := m.Run()
	os.RemoveAll(data)
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
