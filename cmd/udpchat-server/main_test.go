package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUsage: --help prints usage and exits 0; a bad command line exits 2.
func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "usage: udpchat-server [--config FILE] [--listen HOST:PORT]"},
		{[]string{"--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if code := run(t.Context(), tt.args, nil, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("udpchat-server %v: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}

// TestBadConfigOneLine: bad configuration fails at startup, exit 1, with one
// line that says what and where.
func TestBadConfigOneLine(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("codec: xml\n"), 0o600)
	tests := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--listen", "127.0.0.1:99999"}, nil, "server.listen"},
		{[]string{"--listen", "not-an-address"}, nil, "server.listen"},
		{[]string{"--listen", taken.LocalAddr().String(), "--data-dir", t.TempDir()}, nil, "address already in use"},
		{[]string{"--config", bad}, nil, "known: json"},
		{nil, []string{"UDPCHAT_RELIABILITY_NAME=smoke-signals"}, "known: stop-and-wait"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		code := run(t.Context(), tt.args, tt.env, &stderr)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], tt.want) || !strings.HasPrefix(lines[0], "udpchat-server: ") {
			t.Errorf("udpchat-server %v %v: exit %d, stderr %q; want exit 1 and one line naming %q", tt.args, tt.env, code, stderr.String(), tt.want)
		}
	}
}

// TestSIGINT: the real binary logs its bound address when ready and stops
// cleanly, exit 0, on SIGINT.
func TestSIGINT(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "udpchat-server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	ready := regexp.MustCompile(`"server ready" addr=127\.0\.0\.1:[1-9]\d*`)
	var log []string
	deadline := time.After(30 * time.Second)
	for signalled := false; ; {
		select {
		case line, ok := <-lines:
			if !ok {
				err := cmd.Wait()
				if err != nil || !signalled || !strings.Contains(strings.Join(log, "\n"), "server stopped") {
					t.Fatalf("exit: %v; log:\n%s", err, strings.Join(log, "\n"))
				}
				return
			}
			log = append(log, line)
			if !signalled && ready.MatchString(line) {
				if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
					t.Fatal(err)
				}
				signalled = true
			}
		case <-deadline:
			t.Fatalf("no clean exit within 30s of start; log:\n%s", strings.Join(log, "\n"))
		}
	}
}

// TestPluginChecksumRefused: a plugin whose binary does not match its
// configured sha256 stops the server at startup, with one line naming it.
func TestPluginChecksumRefused(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bot")
	if out, err := exec.Command("go", "build", "-o", bin, "../../plugins/examples/bot").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "server.yaml")
	yaml := "plugins:\n  - name: bot\n    path: " + bin + "\n    sha256: \"" + strings.Repeat("0", 64) + "\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := run(t.Context(), []string{"--config", cfg, "--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "error"}, nil, &stderr)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if code != 1 || !strings.HasPrefix(last, "udpchat-server: ") || !strings.Contains(last, "bot") || !strings.Contains(last, strings.Repeat("0", 64)) {
		t.Fatalf("exit %d, stderr %q: want exit 1 and a line naming the plugin and the checksum", code, stderr.String())
	}
}
