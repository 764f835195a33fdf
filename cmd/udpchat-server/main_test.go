package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

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
