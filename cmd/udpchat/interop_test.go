package main

// Wire interoperability with an independent implementation of the seed
// protocol: testdata/seedpeer.py, written in Python with pycryptodome and the
// json module as the seed was. Our server talks with its client, our client
// with its server, and the bytes of every packet kind are compared.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/seed"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
)

// interopTimeout bounds every wait on a seed peer: Python's RSA-2048 key
// generation and interpreter start on a loaded machine under -race take time.
const interopTimeout = 60 * time.Second

var seedPython struct {
	once   sync.Once
	python string // an interpreter that can run seedpeer.py
	script string // absolute path of seedpeer.py
	err    error
}

// seedPeerCommand returns the Python interpreter and the seedpeer.py path.
// Where no interpreter has pycryptodome the test cannot run: in CI, which
// installs it, that fails the test; elsewhere it is skipped, saying what to
// install.
func seedPeerCommand(t *testing.T) (python, script string) {
	t.Helper()
	s := &seedPython
	s.once.Do(func() {
		s.script, s.err = filepath.Abs(filepath.Join("..", "..", "testdata", "seedpeer.py"))
		if s.err != nil {
			return
		}
		candidates := []string{"/usr/bin/python3"}
		if p, err := exec.LookPath("python3"); err == nil {
			candidates = append(candidates, p)
		}
		var tried []string
		for _, p := range candidates {
			ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
			out, err := exec.CommandContext(ctx, p, s.script, "check").CombinedOutput()
			cancel()
			if err == nil {
				s.python = p
				return
			}
			tried = append(tried, fmt.Sprintf("%s: %v: %s", p, err, lastLine(out)))
		}
		s.err = fmt.Errorf("no python3 with pycryptodome (module Crypto or Cryptodome); "+
			"install it with `apt-get install -y python3-pycryptodome`. Tried:\n  %s", strings.Join(tried, "\n  "))
	})
	if s.err != nil {
		needTool(t, "seed peer: "+s.err.Error())
	}
	return s.python, s.script
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// seedPeer is a running seedpeer.py.
type seedPeer struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *testkit.Buffer
	stderr *testkit.Buffer
	done   chan struct{} // closed when the process has ended
	err    error         // what Wait returned, once done is closed
}

// startSeedPeer starts seedpeer.py with args, bound to 127.0.0.1, and kills it
// when the test ends if it is still running.
func startSeedPeer(t *testing.T, env []string, args ...string) *seedPeer {
	t.Helper()
	python, script := seedPeerCommand(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*interopTimeout)
	cmd := exec.CommandContext(ctx, python, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "SEEDPEER_BIND=127.0.0.1", "PYTHONDONTWRITEBYTECODE=1")
	cmd.Env = append(cmd.Env, env...)
	cmd.WaitDelay = 5 * time.Second
	p := &seedPeer{t: t, name: "seedpeer " + strings.Join(args, " "), cmd: cmd,
		stdout: &testkit.Buffer{}, stderr: &testkit.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: %v", p.name, err)
	}
	go func() {
		p.err = cmd.Wait()
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s: stdout:\n%s\nstderr:\n%s", p.name, p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// write sends text to the peer's standard input.
func (p *seedPeer) write(text string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, text); err != nil {
		p.t.Fatalf("%s: writing its input: %v", p.name, err)
	}
}

// exitCode closes the peer's input and waits for it to end.
func (p *seedPeer) exitCode() int {
	p.t.Helper()
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(interopTimeout):
		p.t.Fatalf("%s: still running %v after the end of its input", p.name, interopTimeout)
	}
	var exit *exec.ExitError
	if p.err != nil && !errors.As(p.err, &exit) {
		p.t.Fatalf("%s: %v", p.name, p.err)
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitMatch waits until re matches the buffer and returns the submatches.
func (p *seedPeer) waitMatch(buf *testkit.Buffer, re *regexp.Regexp) []string {
	p.t.Helper()
	var m []string
	wait := testkit.Wait{Within: interopTimeout, Ended: p.done, Got: buf.String}
	wait.Until(p.t, fmt.Sprintf("%s to print %q", p.name, re), func() bool {
		m = re.FindStringSubmatch(buf.String())
		return m != nil
	})
	return m
}

// localAddr is the address the peer's client socket is bound to, which is how
// a server names it.
func (p *seedPeer) localAddr() string {
	p.t.Helper()
	return p.waitMatch(p.stderr, regexp.MustCompile(`seedpeer: local (127\.0\.0\.1:\d+)\n`))[1]
}

// TestSeedClientToOurServer: a seed client joins our server and sends lines
// (one not ASCII, one long) that a Go client receives with the seed client's
// ip:port as sender. A line whose broadcast could not fit in the 4096 bytes a
// seed peer reads is not relayed but ACKed and answered with a <server>
// notice. The seed client prints what the Go client says.
func TestSeedClientToOurServer(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	goClient := room.Join()

	py := startSeedPeer(t, nil, "client", "127.0.0.1", itoa(room.Addr.Port()))
	pyAddr := py.localAddr()
	lines := []string{"hello from python", "héllo 世界", strings.Repeat("long ", 400) + "世界"}
	tooLong := strings.Repeat("y", longestSeedText("<"+pyAddr+"> ")+1)
	py.write(strings.Join(append(lines, tooLong), "\n") + "\n")

	// Once the seed client has a session, what the Go client says reaches it.
	wait := testkit.Wait{Within: interopTimeout, Ended: py.done}
	wait.Until(t, "the seed client's session", func() bool { return room.Server.Stats().Sessions == 2 })
	said := []string{"hi python", strings.Repeat("z", 2000)}
	goClient.WaitDelivered(goClient.Say(said[0]), goClient.Say(said[1]))
	for _, text := range said {
		want := "<" + goClient.Name() + "> " + text + "\n"
		wait.Until(t, fmt.Sprintf("the seed client to print %.60q", want),
			func() bool { return strings.Contains(py.stdout.String(), want) })
	}
	wait.Until(t, "the seed client to print a <server> notice about its line too long to relay",
		func() bool { return strings.Contains(py.stdout.String(), "<"+core.SystemSender+"> ") })

	// Exit status 0: every line was ACKed.
	if code := py.exitCode(); code != 0 {
		t.Fatalf("seed client exited %d, want 0 (every line ACKed)", code)
	}
	// The server relayed them before it ACKed them; they may still be on
	// their way to the Go client.
	var got []string
	testkit.Wait{Within: interopTimeout, Got: func() string { return fmt.Sprintf("%.200q (all messages: %.300v)", got, goClient.Messages()) }}.
		Until(t, fmt.Sprintf("the Go client to get %d lines from %s", len(lines), pyAddr), func() bool {
			got = got[:0]
			for _, m := range goClient.Messages() {
				if m.Kind == core.KindChat && m.From == pyAddr {
					got = append(got, m.Text)
				}
			}
			return len(got) >= len(lines)
		})
	if !slices.Equal(got, lines) {
		t.Fatalf("Go client got %.200q from %s, want %.200q (all messages: %.300v)", got, pyAddr, lines, goClient.Messages())
	}
}

// longestSeedText is the longest text whose broadcast behind prefix fits in
// the 4096 bytes a seed peer reads, worked out from the seed's format alone:
// {"type": "DATA", "payload": "<base64 of tag(32) || IV(16) || CT>"}, CT the
// PKCS#7-padded plaintext.
func longestSeedText(prefix string) int {
	fits := func(n int) bool {
		plain := len(prefix) + n
		sealed := 32 + 16 + (plain/16+1)*16
		return len(`{"type": "DATA", "payload": ""}`)+base64.StdEncoding.EncodedLen(sealed) <= 4096
	}
	n := 0
	for fits(n + 1) {
		n++
	}
	return n
}

// TestOurClientToSeedServer: our client program joins the seed's server, its
// line is ACKed (exit 0) and relayed to a seed client, and what the seed
// client says is printed by our client.
func TestOurClientToSeedServer(t *testing.T) {
	server := startSeedPeer(t, nil, "server", "127.0.0.1", "0")
	port := server.waitMatch(server.stdout, regexp.MustCompile(`^ready (\d+)\n`))[1]
	serverAddr := "127.0.0.1:" + port

	receiver := startSeedPeer(t, nil, "client", "127.0.0.1", port)
	receiverAddr := receiver.localAddr()
	receiver.waitMatch(receiver.stderr, regexp.MustCompile(`seedpeer: connected `))

	ctx, cancel := context.WithTimeout(context.Background(), 2*interopTimeout)
	defer cancel()
	in, inw := io.Pipe()
	defer inw.Close()
	stdout, stderr := &testkit.Buffer{}, &testkit.Buffer{}
	done := make(chan struct{})
	code := -1
	go func() {
		defer close(done)
		code = run(ctx, []string{"--log-file", "-", serverAddr}, nil, in, stdout, stderr)
		in.Close() // a write after run returns fails rather than blocks
	}()
	defer func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("udpchat: stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	}()

	if _, err := io.WriteString(inw, "hello seed\n"); err != nil {
		t.Fatalf("udpchat input: %v", err)
	}
	receiver.waitMatch(receiver.stdout, regexp.MustCompile(`(?m)^<127\.0\.0\.1:\d+> hello seed$`))

	// Our client's input stays open until what the seed client says arrives.
	receiver.write("hello from a seed client\n")
	want := "<" + receiverAddr + "> hello from a seed client\n"
	testkit.Wait{Within: interopTimeout, Ended: done, Got: stdout.String}.Until(t, fmt.Sprintf("udpchat to print %q", want),
		func() bool { return strings.Contains(stdout.String(), want) })
	inw.Close()
	select {
	case <-done:
	case <-time.After(interopTimeout):
		t.Fatalf("udpchat still running %v after the end of its input", interopTimeout)
	}
	if code != 0 {
		t.Fatalf("udpchat exited %d, want 0 (every line ACKed by the seed server)", code)
	}
	if code := receiver.exitCode(); code != 0 {
		t.Fatalf("seed client exited %d, want 0 (every line ACKed)", code)
	}
}

// TestOurClientPipesToSeedServer: the seed's server ACKs a DATA before it
// counts it, so a client that sends its next DATA the moment the ACK comes
// has it dropped, and every later one. Our client pauses after each ACK
// from a version 1 server (client.v1_ack_pause): 20 lines piped in plain
// mode all reach a seed client in the room, in order.
func TestOurClientPipesToSeedServer(t *testing.T) {
	lines, lost := pipeToSeedServer(t, nil, 20)
	if lost != "" || len(lines) != 20 {
		t.Fatalf("the seed client got %d of 20 lines; the seed server: %s", len(lines), lost)
	}
	for i, line := range lines {
		if want := fmt.Sprintf("line %d of 20", i+1); line != want {
			t.Fatalf("the seed client got %q as line %d, want %q (all: %q)", line, i+1, want, lines)
		}
	}
}

// TestSeedServerRaces keeps testdata/seedpeer.py's server honest: without
// the pause, our client's lines are ACKed and dropped, as the seed's server
// drops them, so TestOurClientPipesToSeedServer tests the pause.
func TestSeedServerRaces(t *testing.T) {
	lines, lost := pipeToSeedServer(t, []string{"UDPCHAT_CLIENT_V1_ACK_PAUSE=0s"}, 20)
	if lost == "" || len(lines) == 20 {
		t.Fatalf("without a pause all %d lines got through: the seed server model does not race", len(lines))
	}
	t.Logf("without a pause the seed client got %d of 20 lines; the seed server: %s", len(lines), lost)
}

// pipeToSeedServer starts the seed's server and a seed client in its room,
// and pipes n lines to our client program (with environ) connected to it,
// which must exit 0 (the seed server ACKs them all, counted or not). It
// returns the lines the seed client printed, once it printed all n or the
// server logged one dropped (lost is that log line).
func pipeToSeedServer(t *testing.T, environ []string, n int) (lines []string, lost string) {
	t.Helper()
	server := startSeedPeer(t, nil, "server", "127.0.0.1", "0")
	port := server.waitMatch(server.stdout, regexp.MustCompile(`^ready (\d+)\n`))[1]
	receiver := startSeedPeer(t, nil, "client", "127.0.0.1", port)
	receiver.waitMatch(receiver.stderr, regexp.MustCompile(`seedpeer: connected `))

	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "line %d of %d\n", i+1, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*interopTimeout)
	defer cancel()
	stdout, stderr := &testkit.Buffer{}, &testkit.Buffer{}
	code := run(ctx, []string{"--log-file", "-", "127.0.0.1:" + port}, environ, strings.NewReader(in.String()), stdout, stderr)
	if code != 0 {
		t.Fatalf("udpchat exited %d, want 0 (the seed server ACKs every line)\nstderr:\n%s", code, stderr.String())
	}

	ours := regexp.MustCompile(`(?m)^<127\.0\.0\.1:\d+> (line \d+ of \d+)$`)
	dropped := regexp.MustCompile(`seedpeer: out of order .*`)
	testkit.Wait{Within: interopTimeout, Got: receiver.stdout.String}.Until(t, fmt.Sprintf("the seed client to print %d lines, or the seed server to drop one", n), func() bool {
		lines = lines[:0]
		for _, m := range ours.FindAllStringSubmatch(receiver.stdout.String(), -1) {
			lines = append(lines, m[1])
		}
		lost = dropped.FindString(server.stderr.String())
		return len(lines) == n || lost != ""
	})
	return lines, lost
}

// TestSeedBytes: for the same inputs, every packet our JSON codec and seed
// suite produce is byte for byte what Python's json.dumps and pycryptodome
// produce, and what they produce we decode and open.
func TestSeedBytes(t *testing.T) {
	python, script := seedPeerCommand(t)
	key := chattest.Keys.Key(0)
	aesKey, iv := make([]byte, 16), make([]byte, 16)
	rand.Read(aesKey)
	rand.Read(iv)
	const plaintext = "byte for byte: héllo 世界 \"quoted\" \\ <127.0.0.1:1>"
	seqs := []uint64{0, 1, 255, 1 << 32, 1<<53 + 1, 1<<64 - 1}
	given, err := json.Marshal(map[string]any{
		"private_key_pem": string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
		"aes_key_b64":     aesKey,
		"iv_b64":          iv,
		"plaintext":       plaintext,
		"seqs":            seqs,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, "dump")
	cmd.Stdin = bytes.NewReader(given)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("seedpeer.py dump: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if want := 2 + 2*len(seqs) + 1; len(lines) != want {
		t.Fatalf("seedpeer.py dump printed %d lines, want %d:\n%s", len(lines), want, out)
	}

	codec := jsoncodec.Codec{}
	// same checks that our encoding of p is the Python line, and that
	// decoding the line and encoding it again gives it back unchanged.
	same := func(what, line string, p *core.Packet) {
		t.Helper()
		ours, err := codec.Append(nil, p)
		if err != nil {
			t.Fatalf("%s: encoding: %v", what, err)
		}
		if string(ours) != line {
			t.Errorf("%s: bytes differ\n python: %s\n ours:   %s", what, line, ours)
		}
		back, err := codec.Decode([]byte(line))
		if err != nil {
			t.Fatalf("%s: decoding Python's %s: %v", what, line, err)
		}
		again, _ := codec.Append(nil, back)
		if string(again) != line {
			t.Errorf("%s: decoding and encoding again changed the bytes\n python: %s\n ours:   %s", what, line, again)
		}
	}
	decode := func(what, line string) *core.Packet {
		t.Helper()
		p, err := codec.Decode([]byte(line))
		if err != nil {
			t.Fatalf("%s: decoding Python's %s: %v", what, line, err)
		}
		return p
	}

	// KEY_REQ: our PEM public key is pycryptodome's export_key.
	initiator, err := seed.NewInitiatorFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	same("KEY_REQ", lines[0], &core.Packet{Type: core.TypeKeyReq, Payload: initiator.Hello()})

	// KEY_REP: OAEP is randomised, so the bytes cannot match; what they wrap
	// must be the key, under the parameters our suite uses (SHA-1, MGF1-SHA-1,
	// empty label). Our client's own unwrapping of the seed server's KEY_REP
	// is TestOurClientToSeedServer.
	rep := decode("KEY_REP", lines[1])
	same("KEY_REP", lines[1], rep)
	if wrapped, err := rsa.DecryptOAEP(sha1.New(), nil, key, rep.Payload, nil); err != nil || !bytes.Equal(wrapped, aesKey) {
		t.Fatalf("KEY_REP: OAEP-SHA-1 unwraps to %x, %v; want %x", wrapped, err, aesKey)
	}

	// DATA: the payload is tag||IV||CT with the IV given; our keys open it.
	sealed := decode("DATA", lines[2]).Payload
	if len(sealed) < 48 || !bytes.Equal(sealed[32:48], iv) {
		t.Fatalf("DATA: payload is not tag||IV||CT with the given IV: % x", sealed)
	}
	keys, err := seed.NewSessionKeys(aesKey)
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := keys.Open(nil, sealed, nil); err != nil || string(opened) != plaintext {
		t.Fatalf("DATA: opened with the AES key: %q, %v; want %q", opened, err, plaintext)
	}
	for i, seq := range seqs {
		same("DATA seq "+strconv.FormatUint(seq, 10), lines[2+i],
			&core.Packet{Type: core.TypeData, Seq: seq, HasSeq: true, Payload: sealed})
	}
	same("server DATA", lines[2+len(seqs)], &core.Packet{Type: core.TypeData, Payload: sealed})
	for i, seq := range seqs {
		same("ACK "+strconv.FormatUint(seq, 10), lines[3+len(seqs)+i],
			&core.Packet{Type: core.TypeAck, AckSeq: seq, HasAckSeq: true})
	}
}
