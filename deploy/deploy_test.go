// Package deploy holds what runs udpchat-server in production (README.md):
// a hardened systemd unit, the configuration it reads, and a container
// build. It has no code: its tests check the unit with systemd-analyze,
// where that is installed, and start the real server with the unit's
// command line and the sample configuration.
package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/internal/testkit"
)

// Where the unit and the sample configuration say things are on the
// machine; the tests put each in a temporary directory of their own.
const (
	installedServer = "/usr/local/bin/udpchat-server"
	installedConfig = "/etc/udpchat/server.yaml"
	installedData   = "/var/lib/udpchat"
	installedFilter = "/usr/local/lib/udpchat/plugins/filter"
)

const (
	unitFile   = "udpchat-server.service"
	sampleFile = "server.yaml"
	module     = "github.com/udpchat/udpchat"
)

// TestUnitVerifies: systemd-analyze verify finds nothing to say about the
// unit, run with the real server; and it does find the faults a unit can
// have, so that its silence means something.
func TestUnitVerifies(t *testing.T) {
	analyze := systemdAnalyze(t)
	unit := withServer(t, read(t, unitFile), testkit.Build(t, module+"/cmd/udpchat-server"))
	cases := []struct {
		name string
		unit string
		want string // in what verify says; "" for nothing at all
	}{
		{"as shipped", unit, ""},
		{"a misspelt setting", strings.Replace(unit, "ProtectSystem=", "ProtectSytem=", 1), "Unknown key"},
		{"a bad value", strings.Replace(unit, "Restart=on-failure", "Restart=sometimes", 1), "restart specifier"},
		{"no executable", withServer(t, read(t, unitFile), filepath.Join(t.TempDir(), "udpchat-server")), "is not executable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, analyze, "verify", "--man=no", writeUnit(t, tc.unit))
			said := err != nil || strings.Contains(out, unitFile)
			switch {
			case tc.want == "" && said:
				t.Errorf("systemd-analyze verify: %v\n%s", err, out)
			case tc.want != "" && (!said || !strings.Contains(out, tc.want)):
				t.Errorf("systemd-analyze verify did not say %q (%v):\n%s", tc.want, err, out)
			}
		})
	}
}

// TestUnitExposure: systemd-analyze security rates the unit's sandbox OK
// (an exposure of 2.0 at most, of 10), and the unit without its sandbox
// worse.
func TestUnitExposure(t *testing.T) {
	analyze := systemdAnalyze(t)
	if out, err := run(t, analyze, "security", "--help"); err != nil || !strings.Contains(out, "--offline") {
		t.Skipf("this systemd-analyze cannot rate a unit file offline (systemd 250 or later can): %v", err)
	}
	unit := withServer(t, read(t, unitFile), testkit.Build(t, module+"/cmd/udpchat-server"))
	var bare []string
	for line := range strings.Lines(unit) {
		if !regexp.MustCompile(`^(Protect|Private|Restrict|SystemCall|MemoryDeny|LockPersonality|ProcSubset|CapabilityBoundingSet|NoNewPrivileges)`).MatchString(line) {
			bare = append(bare, line)
		}
	}
	cases := []struct {
		name string
		unit string
		ok   bool
	}{
		{"as shipped", unit, true},
		{"without its sandbox", strings.Join(bare, ""), false},
	}
	level := regexp.MustCompile(`Overall exposure level for ` + regexp.QuoteMeta(unitFile) + `: (\d+\.\d)`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The threshold is in tenths: 20 is an exposure of 2.0.
			out, err := run(t, analyze, "security", "--offline=yes", "--threshold=20", writeUnit(t, tc.unit))
			m := level.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("systemd-analyze security rated nothing (%v):\n%s", err, out)
			}
			exposure, _ := strconv.ParseFloat(m[1], 64)
			if ok := exposure <= 2.0; ok != tc.ok || (err == nil) != tc.ok {
				t.Errorf("exposure %.1f (%v), want OK (2.0 at most): %v; systemd-analyze security says:\n%s", exposure, err, tc.ok, out)
			}
		})
	}
}

// TestUnitCommandLine: the real server starts with the unit's ExecStart
// and the sample configuration, with its data directory and admin socket
// where the unit has systemd make them, and with the plugin the sample
// shows, placed where it says; and it stops cleanly.
func TestUnitCommandLine(t *testing.T) {
	s := settings(t, read(t, unitFile))
	args := strings.Fields(s.one(t, "ExecStart"))
	if args[0] != installedServer {
		t.Fatalf("ExecStart runs %s, want %s (README.md installs it there)", args[0], installedServer)
	}
	for key, want := range map[string]string{
		"ConfigurationDirectory": filepath.Base(filepath.Dir(installedConfig)),
		"StateDirectory":         filepath.Base(installedData),
		"WorkingDirectory":       installedData,
	} {
		if got := s.one(t, key); got != want {
			t.Errorf("%s=%s, want %s: ExecStart names %s and %s", key, got, want, installedConfig, installedData)
		}
	}
	for _, pair := range [][2]string{{"--config", installedConfig}, {"--data-dir", installedData}} {
		if i := slices.Index(args, pair[0]); i < 0 || i+1 == len(args) || args[i+1] != pair[1] {
			t.Fatalf("ExecStart does not say %s %s: %q", pair[0], pair[1], args)
		}
	}

	sample := read(t, sampleFile)
	server := testkit.Build(t, module+"/cmd/udpchat-server")
	cases := []struct {
		name   string
		config string
		wait   []string // log lines to wait for, besides "server ready"
	}{
		{"sample", sample, nil},
		{"sample with its plugin", withPlugin(t, sample, testkit.Build(t, module+"/plugins/examples/filter")), []string{`"plugin started" plugin=filter`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			config, data := filepath.Join(dir, "etc", "server.yaml"), filepath.Join(dir, "data")
			if err := os.Mkdir(filepath.Dir(config), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(config, []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			argv := []string{}
			for _, a := range args[1:] {
				switch a {
				case installedConfig:
					a = config
				case installedData:
					a = data
				}
				argv = append(argv, a)
			}
			// The one change: a port of the loopback's, not the world's.
			argv = append(argv, "--listen", "127.0.0.1:0")
			p := testkit.Start(t, server, argv...)
			p.WaitLog(t, regexp.MustCompile(`"server ready" addr=127\.0\.0\.1:[1-9]\d*`))
			p.WaitLog(t, regexp.MustCompile(`"admin socket" path=`+regexp.QuoteMeta(filepath.Join(data, "admin.sock"))+`$`))
			for _, w := range tc.wait {
				p.WaitLog(t, regexp.MustCompile(w))
			}
			log, err := p.Stop(t)
			if err != nil || !strings.Contains(log, "server stopped") {
				t.Fatalf("exit: %v; log:\n%s", err, log)
			}
		})
	}
}

// withPlugin is the sample configuration with the plugin it shows, commented
// out after "plugins: []", in the place of the empty list, and its executable
// at path instead of where the sample installs it.
func withPlugin(t *testing.T, sample, path string) string {
	t.Helper()
	before, example, ok := strings.Cut(sample, "plugins: []\n")
	if !ok || !strings.Contains(example, installedFilter) {
		t.Fatalf("%s shows no plugin at %s, commented out after \"plugins: []\"", sampleFile, installedFilter)
	}
	var b strings.Builder
	b.WriteString(before)
	for line := range strings.Lines(example) {
		uncommented, ok := strings.CutPrefix(line, "#")
		if !ok {
			t.Fatalf("%s: %q after the commented-out plugin", sampleFile, line)
		}
		b.WriteString(strings.ReplaceAll(uncommented, installedFilter, path))
	}
	return b.String()
}

// unitSettings are a unit file's settings: each key's values, in order.
type unitSettings map[string][]string

// settings reads a unit file. It knows no line continuations, quotes or
// specifiers, so that a unit the test would read otherwise than systemd
// fails here rather than passing.
func settings(t *testing.T, unit string) unitSettings {
	t.Helper()
	s := unitSettings{}
	for line := range strings.Lines(unit) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		if strings.HasSuffix(line, `\`) || strings.ContainsAny(line, `"'%`) {
			t.Fatalf("%s: this test cannot read %q as systemd would", unitFile, line)
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is no setting", unitFile, line)
		}
		s[key] = append(s[key], value)
	}
	return s
}

// one is the value of a key set once.
func (s unitSettings) one(t *testing.T, key string) string {
	t.Helper()
	if len(s[key]) != 1 {
		t.Fatalf("%s sets %s %d times, want once", unitFile, key, len(s[key]))
	}
	return s[key][0]
}

// withServer is the unit with ExecStart running server instead of the
// installed one, which systemd-analyze verify checks is there.
func withServer(t *testing.T, unit, server string) string {
	t.Helper()
	from := "ExecStart=" + installedServer + " "
	if !strings.Contains(unit, from) {
		t.Fatalf("%s has no %q", unitFile, from)
	}
	return strings.Replace(unit, from, "ExecStart="+server+" ", 1)
}

// systemdAnalyze is the path of systemd-analyze, or skips the test.
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (it comes with systemd): the unit is not checked")
	}
	return path
}

// writeUnit writes unit to a file of the unit's name, in a directory of
// the test's, and returns its path.
func writeUnit(t *testing.T, unit string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), unitFile)
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// run runs a program to its end, within testkit.Timeout, and returns what
// it said on standard output and error.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testkit.Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestContainerfile: the container build, which the tests cannot run (it
// needs images from registries), builds what exists, stamps the version as
// scripts/release.sh does, and runs the server on the sample's port as a
// user that is not root.
func TestContainerfile(t *testing.T) {
	file := read(t, "Containerfile")
	release := read(t, "../scripts/release.sh")
	stamps := regexp.MustCompile(`-X \S+=`).FindAllString(file, -1)
	if len(stamps) == 0 {
		t.Error("Containerfile stamps no version (-ldflags -X)")
	}
	for _, stamp := range stamps {
		if !strings.Contains(release, stamp) {
			t.Errorf("Containerfile stamps %q, which scripts/release.sh does not", stamp)
		}
	}
	for _, flag := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X `} {
		if !strings.Contains(file, flag) || !strings.Contains(release, flag) {
			t.Errorf("Containerfile and scripts/release.sh do not both build with %s", flag)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^COPY ([^-\s]\S*) `).FindAllStringSubmatch(file, -1) {
		if _, err := os.Stat(filepath.Join("..", m[1])); err != nil {
			t.Errorf("Containerfile copies %s from the context: %v", m[1], err)
		}
	}
	built := regexp.MustCompile(`\s(\./[\w/-]+)`).FindAllStringSubmatch(file, -1)
	if len(built) != 2 {
		t.Errorf("Containerfile builds %q, want the server and the filter plugin", built)
	}
	for _, m := range built {
		if _, err := os.Stat(filepath.Join("..", m[1], "main.go")); err != nil {
			t.Errorf("Containerfile builds %s: %v", m[1], err)
		}
	}
	listen := regexp.MustCompile(`(?m)^  listen: \S+:(\d+)$`).FindStringSubmatch(read(t, sampleFile))
	if listen == nil || !strings.Contains(file, "\nEXPOSE "+listen[1]+"/udp\n") {
		t.Errorf("Containerfile does not expose the sample's port, %v, for UDP", listen)
	}
	user := "root" // with no USER
	if m := regexp.MustCompile(`(?m)^USER (\S+)$`).FindStringSubmatch(file); m != nil {
		user = m[1]
	}
	if name, _, _ := strings.Cut(user, ":"); name == "0" || name == "root" {
		t.Errorf("Containerfile runs the server as %s, want a user that is not root", user)
	}
	for _, path := range []string{installedConfig, installedData, installedFilter} {
		if !strings.Contains(file, path) {
			t.Errorf("Containerfile does not put %s where the unit and the sample have it", path)
		}
	}
}
