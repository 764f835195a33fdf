package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/chattest"
)

func newPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// silentAddr is an address on 127.0.0.1 where a socket is bound and never
// read: a server that never answers, and draws no ICMP error.
func silentAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(chattest.Loopback))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// known returns a known_servers path of the test's own, so that no test
// touches the user's.
func known(t *testing.T) string { return filepath.Join(t.TempDir(), "known_servers") }

// TestMain removes the client binary the terminal tests built, and fails
// the run if a test left a goroutine behind.
func TestMain(m *testing.M) {
	// Each client run here keeps its identity key in the default data
	// directory, created on first use, and its log and tickets in the
	// default state directory: the tests', never the user's.
	data, err := os.MkdirTemp("", "udpchat-data-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", filepath.Join(data, "data"))
	os.Setenv("XDG_STATE_HOME", filepath.Join(data, "state"))
	code := m.Run()
	os.RemoveAll(data)
	if buildErr == nil && builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
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
