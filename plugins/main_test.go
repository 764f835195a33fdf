package plugins

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/server"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(removeBinaries{m})
}

// removeBinaries removes the plugin binaries once the tests have run.
type removeBinaries struct{ m *testing.M }

func (r removeBinaries) Run() int {
	defer func() {
		if binDir != "" {
			os.RemoveAll(binDir)
		}
	}()
	return r.m.Run()
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// bin returns the path of a plugin binary: an example or a test plugin,
// all built with go build on first use, once per test binary.
func bin(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "udpchat-plugins-"); buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator),
			"./examples/...", "./internal/testplugins/...")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// testLog is a test's log: its lines go to t.Log while the test runs, and
// are kept, so that a test can wait for what the plugins report.
type testLog struct {
	t     testing.TB
	mu    sync.Mutex
	over  bool // the test has ended: t.Log would panic
	lines []string
}

// newTestLog returns a logger for t, and its lines.
func newTestLog(t testing.TB) (*slog.Logger, *testLog) {
	l := &testLog{t: t}
	// Registered first, so run last: after the room and the plugins have
	// stopped, and with them nearly all logging. go-plugin's stream
	// goroutines may still say goodbye after Kill returns.
	t.Cleanup(func() {
		l.mu.Lock()
		l.over = true
		l.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

func (l *testLog) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if !l.over {
		l.t.Log(line)
	}
	return len(p), nil
}

// count counts the lines that hold every one of parts.
func (l *testLog) count(parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
next:
	for _, line := range l.lines {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		n++
	}
	return n
}

// wait waits until n lines hold every one of parts.
func (l *testLog) wait(n int, parts ...string) {
	l.t.Helper()
	wait := testkit.Wait{Got: func() string { return fmt.Sprintf("%d such lines", l.count(parts...)) }}
	wait.Until(l.t, fmt.Sprintf("%d log lines with %q", n, parts), func() bool { return l.count(parts...) >= n })
}

// startRoom starts the plugins of cfgs and a server with them as its
// handlers and observers, wired as a server is: the room is set late.
func startRoom(t *testing.T, log *slog.Logger, cfgs ...Config) (*chattest.Room, *Set) {
	t.Helper()
	room := new(LateRoom)
	set, err := StartAll(context.Background(), cfgs, room, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	for name, state := range set.States() {
		if state != StateRunning {
			t.Fatalf("plugin %s is %s after StartAll", name, state)
		}
	}
	r := chattest.Start(t, chattest.Options{
		Logger: log,
		// The server handles datagrams one at a time, so a plugin call
		// holds every ACK back for up to the plugin's timeout: the
		// clients must not give up sooner (chattest's own 200 ms x 5
		// would). 500 ms x 10 outlasts the 1 s the fault tests allow.
		Reliability: core.ReliabilityConfig{RTO: 500 * time.Millisecond, MaxRetries: 10},
		Server: func(c *server.Config) {
			c.Handlers = append(c.Handlers, set.Middlewares()...)
			c.Observers = append(c.Observers, set.Observers()...)
		},
	})
	room.Set(r.Server)
	return r, set
}

// from matches a message by sender and text.
func from(name, text string) func(core.Message) bool {
	return func(m core.Message) bool { return m.From == name && m.Text == text }
}

// refused matches the error that tells a sender its message was refused.
func refused(reason string) func(core.Message) bool {
	return func(m core.Message) bool { return m.Kind == core.KindError && m.Text == reason }
}

// never fails if c received a message whose text holds s.
func never(t testing.TB, c *chattest.Client, s string) {
	t.Helper()
	for _, m := range c.Messages() {
		if strings.Contains(m.Text, s) {
			t.Errorf("client %s received %q from %s, holding %q", c.Name(), m.Text, m.From, s)
		}
	}
}
