package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
)

func sum(t testing.TB, path string) string {
	t.Helper()
	h := sha256.Sum256(readFile(t, path))
	return hex.EncodeToString(h[:])
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	// A new file renamed over the old: the running process keeps its own.
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, src, dir string) string {
	t.Helper()
	dst := filepath.Join(dir, filepath.Base(src))
	writeFile(t, dst, readFile(t, src))
	return dst
}

func TestChecksum(t *testing.T) {
	log, _ := newTestLog(t)
	path := bin(t, "bot")
	good := sum(t, path)
	bad := strings.Repeat("0", 64)

	_, err := Start(context.Background(), Config{Name: "bot", Path: path, SHA256: bad}, new(LateRoom), log)
	if err == nil {
		t.Fatal("Start ran a binary whose sha256 does not match")
	}
	for _, want := range []string{"bot", good, bad} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if !errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
		t.Errorf("error %q is not plugin.ErrChecksumsDoNotMatch", err)
	}

	p, err := Start(context.Background(), Config{Name: "bot", Path: path, SHA256: strings.ToUpper(good)}, new(LateRoom), log)
	if err != nil {
		t.Fatalf("with the right sha256: %v", err)
	}
	if s := p.State(); s != StateRunning {
		t.Errorf("State: %s", s)
	}
	p.Close()
	p.Close() // idempotent
	if s := p.State(); s != StateStopped {
		t.Errorf("State after Close: %s", s)
	}
}

func TestStartErrors(t *testing.T) {
	log, _ := newTestLog(t)
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no name", Config{Path: bin(t, "bot")}, "plugin name"},
		{"bad name", Config{Name: "server", Path: bin(t, "bot")}, "reserved"},
		{"no path", Config{Name: "bot"}, "no path"},
		{"missing", Config{Name: "bot", Path: filepath.Join(t.TempDir(), "nope")}, "bot: "},
		{"bad sum", Config{Name: "bot", Path: bin(t, "bot"), SHA256: "abc"}, "64 hex digits"},
		{"bad event", Config{Name: "bot", Path: bin(t, "bot"), Events: []string{"message", "typing"}}, `unknown event "typing"`},
		{"negative timeout", Config{Name: "bot", Path: bin(t, "bot"), Timeout: -1}, "negative timeout"},
		{"configure fails", Config{Name: "filter", Path: bin(t, "filter")}, "config words lists no word"},
		{"bad config", Config{Name: "bot", Path: bin(t, "bot"), Config: map[string]string{"tick": "often"}}, `tick "often"`},
		{"not a plugin", Config{Name: "true", Path: "/bin/true"}, "true: start"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start(context.Background(), tc.cfg, new(LateRoom), log)
			if err == nil {
				p.Close()
				t.Fatal("Start did not fail")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestStartAll(t *testing.T) {
	log, _ := newTestLog(t)
	bot := Config{Name: "bot", Path: bin(t, "bot")}
	if _, err := StartAll(context.Background(), []Config{bot, bot}, new(LateRoom), log); err == nil || !strings.Contains(err.Error(), `two plugins are named "bot"`) {
		t.Errorf("two plugins of one name: %v", err)
	}
	// One that fails closes those started before it.
	_, err := StartAll(context.Background(), []Config{bot, {Name: "filter", Path: bin(t, "filter")}}, new(LateRoom), log)
	if err == nil || !strings.Contains(err.Error(), "filter") {
		t.Errorf("a failing plugin: %v", err)
	}
	set, err := StartAll(context.Background(), []Config{bot, {Name: "filter", Path: bin(t, "filter"), Config: map[string]string{"words": "x"}}}, new(LateRoom), log)
	if err != nil {
		t.Fatal(err)
	}
	if got := set.States(); len(got) != 2 || got["bot"] != StateRunning || got["filter"] != StateRunning {
		t.Errorf("States: %v", got)
	}
	if len(set.Middlewares()) != 2 || len(set.Observers()) != 2 {
		t.Errorf("%d middlewares, %d observers", len(set.Middlewares()), len(set.Observers()))
	}
	set.Close()
	if got := set.States(); got["bot"] != StateStopped || got["filter"] != StateStopped {
		t.Errorf("States after Close: %v", got)
	}
}

// fakeRoom is a core.Room that records posts.
type fakeRoom struct {
	posts []core.Message
	users []core.User
}

func (f *fakeRoom) Post(_ context.Context, m *core.Message) error {
	f.posts = append(f.posts, *m)
	return nil
}

func (f *fakeRoom) Users() []core.User { return f.users }

func TestLateRoom(t *testing.T) {
	var l LateRoom
	if err := l.Post(context.Background(), &core.Message{From: "bot", Text: "hi"}); !errors.Is(err, ErrNoRoom) {
		t.Errorf("Post before Set: %v", err)
	}
	if u := l.Users(); u != nil {
		t.Errorf("Users before Set: %v", u)
	}
	f := &fakeRoom{users: []core.User{{Name: "alice"}}}
	l.Set(f)
	if err := l.Post(context.Background(), &core.Message{From: "bot", Text: "hi"}); err != nil || len(f.posts) != 1 {
		t.Errorf("Post after Set: %v, %v", err, f.posts)
	}
	if u := l.Users(); len(u) != 1 || u[0].Name != "alice" {
		t.Errorf("Users after Set: %v", u)
	}
}

// TestStartMissingExecutable: a plugin whose executable is not there, or
// cannot run, fails to start with an error that names the path and says
// why, and that is all that is said: no news from go-plugin about killing
// a process that never ran.
func TestStartMissingExecutable(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		want       error
	}{
		{"missing", filepath.Join(dir, "no-such-plugin"), fs.ErrNotExist},
		{"not executable", notExec, fs.ErrPermission},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out testkit.Buffer
			log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: levelTrace}))
			p, err := Start(context.Background(), Config{Name: "bot", Path: tc.path}, new(LateRoom), log)
			if err == nil {
				p.Close()
				t.Fatal("Start did not fail")
			}
			if !strings.Contains(err.Error(), tc.path) || !errors.Is(err, tc.want) {
				t.Errorf("error %q does not name %s and say %q", err, tc.path, tc.want)
			}
			if strings.Contains(out.String(), "failed to exit gracefully") {
				t.Errorf("the log speaks of a process that never started:\n%s", out.String())
			}
		})
	}
}
