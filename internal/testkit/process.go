package testkit

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build builds the main package pkg (a path as go build takes it) into the
// test's temporary directory and returns the binary's path: the tests run
// the real programs, not a stand-in.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(filepath.Clean(pkg)))
	if pkg == "." {
		bin = filepath.Join(filepath.Dir(bin), "program")
	}
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Process is a program the test started, whose standard error it reads
// line by line: the servers log to it, and a test waits for what they log.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has ended

	// Input is the process's standard input, if Options.Input asked for
	// one: it stays open until the test closes it or the process ends.
	Input io.WriteCloser

	mu  sync.Mutex
	log []string
	err error // Wait's, once done is closed
}

// Start runs bin with args. When the test ends a process still running is
// killed; a test that cares how it ends calls Stop.
func Start(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	return StartWith(t, Options{}, bin, args...)
}

// Options say how StartWith runs a program.
type Options struct {
	// Env is added to the test's environment.
	Env []string
	// Input gives the process a standard input the test writes
	// (Process.Input), for a program that reads its input until it
	// ends; without it, standard input is empty.
	Input bool
	// Stdout, if not nil, gets what the process writes to standard
	// output; by default it is discarded.
	Stdout io.Writer
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	if len(opts.Env) > 0 {
		p.cmd.Env = append(os.Environ(), opts.Env...)
	}
	if opts.Input {
		// An *os.File pipe, closed by Wait: a pipe of exec's own
		// copying would make Wait wait for the test to close it.
		in, err := p.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.Input = in
	}
	p.cmd.Stdout = opts.Stdout
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			p.mu.Unlock()
		}
		err := p.cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Log is what the process has written to standard error so far.
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// WaitLog waits until a line of the log matches re and returns its
// submatches, failing the test if the process ends or Timeout passes first.
func (p *Process) WaitLog(t testing.TB, re *regexp.Regexp) []string {
	t.Helper()
	return p.WaitLogSince(t, 0, re)
}

// Mark is where the log ends now, for WaitLogSince.
func (p *Process) Mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

// WaitLogSince is WaitLog for the lines logged after mark (Mark): for
// what the process logs again.
func (p *Process) WaitLogSince(t testing.TB, mark int, re *regexp.Regexp) []string {
	t.Helper()
	var m []string
	Wait{Ended: p.done, Got: p.Log}.Until(t, "a log line matching "+re.String(), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, l := range p.log[mark:] {
			if m = re.FindStringSubmatch(l); m != nil {
				return true
			}
		}
		return false
	})
	return m
}

// Signal sends sig to the process, which must be running.
func (p *Process) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// Kill kills the process with SIGKILL, as a crash or the OOM killer
// would, so that it cleans nothing up, and waits for it to end.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		select {
		case <-p.done: // it had ended already
		default:
			t.Fatalf("SIGKILL: %v", err)
		}
	}
	select {
	case <-p.done:
	case <-time.After(Timeout):
		t.Fatalf("no end within %v of SIGKILL", Timeout)
	}
}

// Stop sends SIGINT and waits, at most Timeout, for the process to end; it
// returns its whole log and how it ended (nil for exit 0).
func (p *Process) Stop(t testing.TB) (log string, err error) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		select {
		case <-p.done: // it had ended already
		default:
			t.Fatalf("SIGINT: %v", err)
		}
	}
	select {
	case <-p.done:
	case <-time.After(Timeout):
		t.Fatalf("no exit within %v of SIGINT; log:\n%s", Timeout, p.Log())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n"), p.err
}

// ProcessCPU is this process's CPU time, from getrusage: precise, unlike
// /proc's ticks, and whichever goroutines spent it (an embedded server's
// included).
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
