package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/server"
)

// childCommand is the hidden first argument that makes the bench binary a
// server child: `-server spawn` re-executes the binary with it, so that the
// server's CPU and memory are its own process's.
const childCommand = "__server"

// childOptions is the server child's one argument, in JSON: the parent's
// options whole, so that the two cannot disagree on a default.
type childOptions struct {
	Server     ServerOptions
	CPUProfile string // "" for none
}

// childFinal is what a server child prints on its last line: its counters
// and its CPU time, measured by getrusage.
type childFinal struct {
	Stats  server.Stats `json:"stats"`
	CPUSec float64      `json:"cpu_s"`
}

// runChild is the server child's main: it prints "ADDR host:port" once it
// listens, serves until its standard input closes (the parent's lifeline:
// the child dies with the bench) or SIGTERM, then prints "FINAL {json}".
func runChild(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("want one argument, the options in JSON, got %d", len(args))
	}
	var co childOptions
	if err := json.Unmarshal([]byte(args[0]), &co); err != nil {
		return fmt.Errorf("options: %w", err)
	}
	o, cpuprofile := co.Server, co.CPUProfile
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	srv, closeLog, err := listenLoadServer(o, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	ctx, stop := lifeline(stdin)
	defer stop()
	// SIGUSR1 asks for a collection and the heap's return to the kernel,
	// so that RSS is the live memory's, not what a burst left behind.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	go func() {
		for {
			select {
			case <-usr1:
				debug.FreeOSMemory() // collects first
				fmt.Fprintf(stdout, "FREED\n")
			case <-ctx.Done():
				return
			}
		}
	}()
	fmt.Fprintf(stdout, "ADDR %s\n", srv.Addr())
	serveErr := srv.Serve(ctx)
	final, _ := json.Marshal(childFinal{Stats: srv.Stats(), CPUSec: testkit.ProcessCPU().Seconds()})
	fmt.Fprintf(stdout, "FINAL %s\n", final)
	return serveErr
}

// lifeline is a child's context: done when its standard input closes
// (the parent closed the pipe, or died) or on SIGTERM.
func lifeline(stdin io.Reader) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		io.Copy(io.Discard, stdin) // returns when the parent closes the pipe
		cancel()
	}()
	return ctx, func() { cancel(); stop() }
}

// spawnedServer is a server child process.
type spawnedServer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  netip.AddrPort
	final chan *childFinal // the child's last words, or nil
	freed chan struct{}    // the child has freed its garbage
	done  chan error       // cmd.Wait's result
}

// startSpawned re-executes this binary as a server child with o and waits
// for it to listen.
func startSpawned(ctx context.Context, o ServerOptions, cpuprofile string, stderr io.Writer) (*spawnedServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	opts, err := json.Marshal(childOptions{Server: o, CPUProfile: cpuprofile})
	if err != nil {
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	cmd := exec.Command(exe, childCommand, string(opts))
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("spawn server: %w", err)
	}
	s := &spawnedServer{cmd: cmd, stdin: stdin, final: make(chan *childFinal, 1), done: make(chan error, 1),
		freed: make(chan struct{}, 1)}
	addrCh := make(chan netip.AddrPort, 1)
	go func() {
		// Read the child's stdout to its end, then reap it.
		var final *childFinal
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "ADDR "); ok {
				if ap, err := netip.ParseAddrPort(a); err == nil {
					addrCh <- ap
				}
			} else if line == "FREED" {
				select {
				case s.freed <- struct{}{}:
				default:
				}
			} else if f, ok := strings.CutPrefix(line, "FINAL "); ok {
				final = new(childFinal)
				if json.Unmarshal([]byte(f), final) != nil {
					final = nil
				}
			}
		}
		s.final <- final
		s.done <- cmd.Wait()
	}()
	select {
	case s.addr = <-addrCh:
		return s, nil
	case err := <-s.done:
		return nil, fmt.Errorf("spawn server: exited before listening: %v", err)
	case <-ctx.Done():
		s.kill()
		return nil, fmt.Errorf("spawn server: %w", ctx.Err())
	case <-time.After(waitTimeout):
		s.kill()
		return nil, errors.New("spawn server: no address within 10 s")
	}
}

func (s *spawnedServer) kill() {
	s.cmd.Process.Kill()
	s.stdin.Close()
	<-s.done
}

func (s *spawnedServer) Kind() string         { return "spawn" }
func (s *spawnedServer) Addr() netip.AddrPort { return s.addr }
func (s *spawnedServer) Sample() (ProcSample, bool) {
	p, err := readProc(s.cmd.Process.Pid)
	return p, err == nil
}

// Stop closes the child's lifeline and waits for its final counters; a
// child that does not stop in time is killed.
func (s *spawnedServer) Stop() (*server.Stats, error) {
	s.stdin.Close()
	select {
	case final := <-s.final:
		err := <-s.done
		if final == nil {
			return nil, fmt.Errorf("server child: no final counters (exit: %v)", err)
		}
		st := final.Stats
		if err != nil {
			return &st, fmt.Errorf("server child: %w", err)
		}
		return &st, nil
	case <-time.After(waitTimeout):
		s.cmd.Process.Kill()
		<-s.final
		return nil, fmt.Errorf("server child: killed, not stopped within %v: %w", waitTimeout, <-s.done)
	}
}

// freeMemory has the child collect its garbage and return it to the
// kernel, and waits (at most 10 s) until it has.
func (s *spawnedServer) freeMemory() error {
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return fmt.Errorf("server child: %w", err)
	}
	select {
	case <-s.freed:
		return nil
	case <-time.After(waitTimeout):
		return errors.New("server child: no answer to SIGUSR1")
	}
}
