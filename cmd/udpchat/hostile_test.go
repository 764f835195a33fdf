package main

import (
	"context"
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
)

// seedImpostor is a version 1 (seed) server that sends whatever the test
// likes: a seed server is not authenticated, so anyone on the path can be
// one. It answers the first KEY_REQ on a real UDP socket on 127.0.0.1.
type seedImpostor struct {
	t      *testing.T
	conn   *net.UDPConn
	client *net.UDPAddr
	keys   core.SessionKeys
	seq    uint64
}

func newSeedImpostor(t *testing.T) *seedImpostor {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &seedImpostor{t: t, conn: conn}
}

func (s *seedImpostor) addr() string { return s.conn.LocalAddr().String() }

// accept waits for a KEY_REQ and answers it in version 1.
func (s *seedImpostor) accept() {
	s.t.Helper()
	buf := make([]byte, core.MaxDatagram)
	s.conn.SetReadDeadline(time.Now().Add(testkit.Timeout))
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			s.t.Fatalf("no KEY_REQ: %v", err)
		}
		p, err := jsoncodec.Codec{}.Decode(buf[:n])
		if err != nil || p.Type != core.TypeKeyReq {
			continue
		}
		reply, keys, err := seed.Suite{}.Respond(rand.Reader, p.Payload, core.Handshake{Version: 1})
		if err != nil {
			s.t.Fatal(err)
		}
		s.client, s.keys = from, keys
		s.write(&core.Packet{Type: core.TypeKeyRep, Payload: reply})
		return
	}
}

func (s *seedImpostor) write(p *core.Packet) {
	s.t.Helper()
	b, err := jsoncodec.Codec{}.Append(nil, p)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.conn.WriteToUDP(b, s.client); err != nil {
		s.t.Fatal(err)
	}
}

// say sends plaintext, "<sender> text" in the seed's form, as a DATA.
func (s *seedImpostor) say(plaintext string) {
	s.t.Helper()
	sealed, err := s.keys.Seal(nil, []byte(plaintext), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	s.write(&core.Packet{Type: core.TypeData, Seq: s.seq, HasSeq: true, Payload: sealed})
	s.seq++
}

// hostileText is what a terminal must never be handed from the network:
// CSI and OSC escape sequences (colour, clear screen, window title), BEL,
// a C1 CSI, bidirectional overrides and isolates, zero-width and
// byte-order-mark characters, a line separator, and a line break that
// would forge a line from someone else.
var hostileText = []string{"\x1b", "\x07", "\u009b", "\u202E", "\u2067", "\u2069", "\u200B", "\u2060", "\uFEFF", "\u2028", "\u2029", "\n<alice>"}

// TestPlainNeutralisesServerText (issue 15, finding 8): plain mode prints
// what a version 1 server sends, so the sender names, texts and notices
// of an impostor reach the user's terminal. None of those sequences may
// reach standard output or standard error; the readable text around them
// does.
func TestPlainNeutralisesServerText(t *testing.T) {
	s := newSeedImpostor(t)
	pr, pw := newPipe()
	stdout, stderr := &testkit.Buffer{}, &testkit.Buffer{}
	done := make(chan int)
	go func() {
		done <- run(context.Background(), []string{"--plain", "--log-file", t.TempDir() + "/client.log", "--known-servers", known(t), s.addr()},
			nil, pr, stdout, stderr)
	}()
	s.accept()
	s.say("<mal\x1b[31mlory\u202E> clear\x1b[2J\x1b]0;pwned\x07 \u202Egnp.exe \u2067isolate\u2069 \u009b31m c1")
	s.say("<bob> zero\u200Bwidth\u2060joiner \uFEFFbom line\u2028sep para\u2029sep forged\n<alice> I owe bob 100")
	s.say("<server> notice \x1b]0;title\x07 \u202Eeton")
	s.say("<bob> the end")
	testkit.Wait{Got: stdout.String}.Until(t, "the last line", func() bool { return strings.Contains(stdout.String(), "<bob> the end\n") })
	testkit.Wait{Got: stderr.String}.Until(t, "the notice", func() bool { return strings.Contains(stderr.String(), "notice") })
	pw.Close()
	<-done
	for name, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
		for _, bad := range hostileText {
			if strings.Contains(out, bad) {
				t.Errorf("%s holds %+q:\n%+q", name, bad, out)
			}
		}
	}
	for _, want := range []string{"gnp.exe", "isolate", "zerowidth", "forged <alice> I owe"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%+q", want, stdout.String())
		}
	}
}

// TestDescribeNeutralisesNick: the nickname a version 2 server gives in
// its KEY_REP is printed when plain mode connects; the server chose it.
func TestDescribeNeutralisesNick(t *testing.T) {
	got := describe(&client.SessionInfo{Version: 2, Suite: "x25519\x1b[2J", Nick: "eve\x1b]0;pwned\x07\u202E"})
	for _, bad := range hostileText {
		if strings.Contains(got, bad) {
			t.Errorf("describe holds %+q: %+q", bad, got)
		}
	}
}
