package server_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/seed"
	jsoncodec "github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/termsafe"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/server"
	"github.com/udpchat/udpchat/transport/memory"
)

// capturingTransport is a server transport that keeps what the server
// sends instead of sending it, so that a test running the server by hand,
// without Serve, sees every datagram, in order, as soon as HandleDatagram
// returns. It is no core.BatchTransport, so nothing bypasses WriteTo.
type capturingTransport struct {
	core.Transport
	out     []sentDatagram
	discard bool // send nowhere and keep nothing: for a benchmark's timed part
}

type sentDatagram struct {
	b  []byte
	to netip.AddrPort
}

func (r *capturingTransport) WriteTo(p []byte, to netip.AddrPort) (int, error) {
	if r.discard {
		return len(p), nil
	}
	r.out = append(r.out, sentDatagram{append([]byte(nil), p...), to})
	return len(p), nil
}

// roomMember is a client of a commandRoom, with the keys to read what the
// server sends it.
type roomMember struct {
	addr    netip.AddrPort
	keys    core.SessionKeys
	session uint64 // version 2 only
	seq     uint64 // its next DATA
	got     []core.Message
	acked   []uint64 // the ACKs it was sent
}

// commandRoom is a server run by hand, on one goroutine, with a version 2
// client whose text the fuzzer chooses, a version 2 bystander a /msg can
// name, and a version 1 client that reads the room as a seed client does.
type commandRoom struct {
	srv          *server.Server
	tr           *capturingTransport
	codec        jsoncodec.Codec
	fuzzer, bob  *roomMember
	seedListener *roomMember
	members      []*roomMember
	reached      []core.Message   // what the handlers after /commands saw
	events       []core.RoomEvent // joins, leaves, renames
	logs         testkit.Buffer   // the server's, for the input at hand
}

// reservedByServer is a name the server, not CheckNick, reserves.
const reservedByServer = "Helper"

func (r *commandRoom) RoomEvent(_ context.Context, e core.RoomEvent) { r.events = append(r.events, e) }

func newCommandRoom(tb testing.TB) *commandRoom {
	tr, err := memory.NewNetwork().Listen(chattest.Loopback)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tr.Close() })
	r := &commandRoom{tr: &capturingTransport{Transport: tr}}
	_, id, _ := ed25519.GenerateKey(nil)
	r.srv, err = server.New(server.Config{
		Transport: r.tr, Codec: r.codec, Suite: seed.Suite{}, Reliability: stopwait.Layer{}, Identity: id,
		Handlers: []core.Middleware{func(next core.Handler) core.Handler {
			return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
				r.reached = append(r.reached, *m)
				return next.HandleMessage(ctx, m)
			})
		}},
		Observers: []core.RoomObserver{r},
		Reserved:  []string{reservedByServer},
		History:   server.DefaultHistory, // the fuzzer talks fast: no rate limit, which is not what is tested
		Env: core.Env{Rand: rand.NewChaCha8([32]byte{'c', 'm', 'd'}),
			Logger: slog.New(slog.NewTextHandler(&r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
	})
	if err != nil {
		tb.Fatal(err)
	}
	r.fuzzer = r.join(tb, 0, "fuzzer")
	r.bob = r.join(tb, 1, "bob")
	r.seedListener = r.join(tb, 2, "")
	for _, m := range []*roomMember{r.fuzzer, r.bob} {
		// A version 2 client joins the room with its first authentic
		// packet.
		r.send(tb, m, "hello")
	}
	if msgs := r.pump(tb); len(msgs) != 0 {
		tb.Fatalf("setting up: %v", msgs)
	}
	return r
}

// join runs a handshake for the i'th test key, version 2 with nick, or
// version 1 without one.
func (r *commandRoom) join(tb testing.TB, i int, nick string) *roomMember {
	in, err := seed.NewInitiatorFromKey(chattest.Keys.Key(i))
	if err != nil {
		tb.Fatal(err)
	}
	m := &roomMember{addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(41000+i))}
	hello := &core.Packet{Type: core.TypeKeyReq, Payload: in.Hello()}
	hs := core.Handshake{Version: 1}
	if nick != "" {
		hello.Version, hello.Nick, hello.Suites = 2, nick, []string{seed.Name}
	}
	b, _ := r.codec.Append(nil, hello)
	r.tr.out = nil
	r.srv.HandleDatagram(context.Background(), b, m.addr)
	if len(r.tr.out) != 1 {
		tb.Fatalf("handshake: %d answers", len(r.tr.out))
	}
	rep, err := r.codec.Decode(r.tr.out[0].b)
	if err != nil || rep.Type != core.TypeKeyRep {
		tb.Fatalf("handshake: %v, %v", rep, err)
	}
	r.tr.out = nil
	if nick != "" {
		hs.SessionID, m.session = rep.Session, rep.Session
		hs.Version = 2
	}
	if m.keys, err = in.Finish(rep.Payload, hs); err != nil {
		tb.Fatal(err)
	}
	r.members = append(r.members, m)
	return m
}

// seal seals plaintext under p's header for m, and encodes p.
func (r *commandRoom) seal(tb testing.TB, m *roomMember, p *core.Packet, plaintext []byte) []byte {
	var ad []byte
	if m.session != 0 {
		p.Session = m.session
		ad = p.AD()
	}
	var err error
	if p.Payload, err = m.keys.Seal(nil, plaintext, ad); err != nil {
		tb.Fatal(err)
	}
	b, err := r.codec.Append(nil, p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// send has version 2 client m say text, and reports whether the DATA fits
// in a datagram, as a client's must.
func (r *commandRoom) send(tb testing.TB, m *roomMember, text string) bool {
	plain, err := r.codec.AppendMessage(nil, &core.Message{Kind: core.KindChat, Text: text})
	if err != nil {
		return false
	}
	p := &core.Packet{Type: core.TypeData, Seq: m.seq, HasSeq: true}
	b := r.seal(tb, m, p, plain)
	if len(b) > core.MaxDatagram {
		return false
	}
	m.seq++
	r.srv.HandleDatagram(context.Background(), b, m.addr)
	return true
}

// pump reads what the server sent, acknowledging each version 2 DATA as a
// client does so that the next one comes, until the server has nothing more
// to say. It files the messages under their recipients, and returns a
// description of each datagram that breaks a rule: too large, unreadable,
// or a message with a control character.
func (r *commandRoom) pump(tb testing.TB) (broken []string) {
	for len(r.tr.out) > 0 {
		out := r.tr.out
		r.tr.out = nil
		for _, d := range out {
			if len(d.b) > core.MaxDatagram {
				broken = append(broken, fmt.Sprintf("a datagram of %d bytes", len(d.b)))
			}
			p, err := r.codec.Decode(d.b)
			if err != nil {
				broken = append(broken, "an undecodable datagram: "+err.Error())
				continue
			}
			m := r.member(d.to)
			if m == nil {
				broken = append(broken, "a datagram to "+d.to.String()+", no client of the room")
				continue
			}
			if p.Type == core.TypeAck && p.HasAckSeq {
				m.acked = append(m.acked, p.AckSeq)
			}
			if p.Type != core.TypeData {
				continue
			}
			msgs, why := r.open(m, p)
			if why != "" {
				broken = append(broken, why)
				continue
			}
			for _, msg := range msgs {
				if hasControl(msg.Text) || hasControl(msg.From) || !utf8.ValidString(msg.Text) {
					broken = append(broken, fmt.Sprintf("a message with control characters or invalid UTF-8: %q", msg.Text))
				}
				m.got = append(m.got, msg)
			}
			if m.session != 0 {
				ack := r.seal(tb, m, &core.Packet{Type: core.TypeAck, AckSeq: p.Seq, HasAckSeq: true}, nil)
				r.srv.HandleDatagram(context.Background(), ack, m.addr)
			}
		}
	}
	return broken
}

// open reads a DATA the server sent m: structured messages in version 2,
// one or a bundle, "<sender> text" in version 1.
func (r *commandRoom) open(m *roomMember, p *core.Packet) ([]core.Message, string) {
	var ad []byte
	if m.session != 0 {
		ad = p.AD()
	}
	plain, err := m.keys.Open(nil, p.Payload, ad)
	if err != nil {
		return nil, "a DATA that does not open: " + err.Error()
	}
	if m.session == 0 {
		from, text := core.ParseV1Text(string(plain))
		return []core.Message{{From: from, Text: text}}, ""
	}
	ptrs, err := r.codec.DecodeMessages(nil, plain)
	if err != nil {
		return nil, "an unreadable message: " + err.Error()
	}
	msgs := make([]core.Message, len(ptrs))
	for i, msg := range ptrs {
		msgs[i] = *msg
	}
	return msgs, ""
}

func (r *commandRoom) member(addr netip.AddrPort) *roomMember {
	for _, m := range r.members {
		if m.addr == addr {
			return m
		}
	}
	return nil
}

// hasControl is the server's rule (termsafe.Refusal): no control
// character but tab, no bidirectional override or isolate, no line
// separator, no invisible character.
func hasControl(s string) bool {
	return utf8.ValidString(s) && termsafe.Refusal(s) != ""
}

// maxCommandText bounds the fuzzed text; padding makes it longer. Go
// minimizes each new input in time quadratic in its length, and a long one
// would take a whole run; a short text and a number reach the same lengths.
const maxCommandText = 256

// FuzzCommand sends arbitrary text, padded with pad x's to reach the sizes
// at which messages stop fitting, as a chat message from a version 2 client
// through the whole path a message takes (open, checks, /commands,
// handlers, delivery) on a server run by hand, and checks that:
//   - nothing panics, the message is acknowledged, every datagram the server
//     sends fits in core.MaxDatagram and opens for its recipient, and the
//     server logs no error (it does for a datagram too large to send);
//   - no message anyone receives, nor any that reaches the handlers after
//     /commands, holds a control character other than tab;
//   - text that is no command reaches the room as it is, "//text" as
//     "/text", and other commands than /me and /msg reach no one;
//   - every message has an effect: it reaches the room, renames its sender,
//     or is answered with a notice, and an error notice (a rejection) says
//     why, in a non-empty reason;
//   - a rename gives a name CheckNick and the server's reserved names allow,
//     from the sender's name, and names in the room stay distinct.
//
// The sender takes its name back after a rename, so that one input does
// not change what the next one meets.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{
		"hello", "/who", "/help", "/nick fuzzy", "/nick bob", "/nick BOB", "/nick " + reservedByServer,
		"/nick server", "/nick 9lives", "/nick a-very-long-nickname", "/nick", "/msg bob hi", "/msg nobody hi",
		"/msg bob", "/msg  bob  hi", "/me waves", "/me", "/me \t", "//nick not a command", "/", "//", "/unknown",
		"/msg bob \x1b[2J", "tab\tis fine", "bell\a", "/me \u0085", "/nick \u00e9", "\xff\xfe", "/msg bob\thi",
		"/join #fuzz", "/join fuzz", "/join #", "/join #a b", "/join #\x1b", "/join #" + strings.Repeat("z", 30), "/part",
		"/part #fuzz", "/part #lobby", "/list", "/topic", "/topic a topic", "/topic \u202e", "/topiclock on",
		"/op bob", "/deop bob", "/kick bob", "/kick bob because", "/mute bob", "/mute bob 10m", "/mute bob forever",
		"/unmute bob", "/ignore bob", "/ignore", "/unignore bob", "/away", "/away lunch", "/away \t",
		"/register", "/register fuzzer", "/register bob", "/unregister", "/unregister bob", "/unregister a b",
		"/whois bob", "/whois", "/whois fuzzer extra", "/whois \x1b[2J",
	} {
		f.Add(s, uint16(0))
	}
	for _, s := range []string{"long ", "/msg bob ", "/me ", "/nick a", "//"} {
		f.Add(s, uint16(2300)) // about where a message stops fitting
	}
	r := newCommandRoom(f)
	f.Fuzz(func(t *testing.T, text string, pad uint16) {
		if len(text) > maxCommandText {
			t.Skip("padding makes long texts")
		}
		text += strings.Repeat("x", int(pad%core.MaxDatagram))
		r.reached, r.events = nil, nil
		r.logs.Reset()
		for _, m := range r.members {
			m.got, m.acked = nil, nil
		}
		// Each input starts in the lobby, whatever the last one joined.
		if r.send(t, r.fuzzer, "/join #lobby") {
			r.pump(t)
		}
		r.reached, r.events = nil, nil
		r.fuzzer.got, r.fuzzer.acked = nil, nil
		before := r.srv.Users()
		seq := r.fuzzer.seq
		if !r.send(t, r.fuzzer, text) {
			t.Skip("does not fit in a datagram")
		}
		for _, why := range r.pump(t) {
			t.Errorf("the server sent %s", why)
		}
		if !slices.Contains(r.fuzzer.acked, seq) {
			t.Errorf("%q was not acknowledged: ACKs %v", text, r.fuzzer.acked)
		}
		r.checkCommand(t, text, before)
		if strings.Contains(r.logs.String(), "level=ERROR") {
			// The server logs an error for what it cannot do at all, such
			// as a datagram too large to send.
			t.Errorf("%q made the server log an error", text)
		}
		if t.Failed() {
			t.Logf("the server's log:\n%s", r.logs.String())
		}
		if len(r.events) > 0 {
			r.send(t, r.fuzzer, "/nick fuzzer")
			r.pump(t)
		}
	})
}

// checkCommand checks what came of the fuzzer's text, and returns with
// the room ready for the next.
func (r *commandRoom) checkCommand(t *testing.T, text string, before []core.User) {
	t.Helper()
	for _, m := range r.reached {
		if hasControl(m.Text) {
			t.Errorf("%v %q reached the room", m.Kind, m.Text)
		}
	}
	var notices, rejections []string
	for _, m := range r.fuzzer.got {
		switch m.Kind {
		case core.KindError:
			rejections = append(rejections, m.Text)
			if strings.TrimSpace(m.Text) == "" {
				t.Errorf("%q was rejected without a reason", text)
			}
		case core.KindSystem:
			notices = append(notices, m.Text)
		}
	}
	cmd, _, _ := strings.Cut(text, " ")
	cmd = strings.ToLower(cmd) // commands are named in any case, as IRC's are
	valid := utf8.ValidString(text) && !hasControl(text)
	switch {
	case !valid || cmd == "/me" || cmd == "/msg":
	case !strings.HasPrefix(text, "/") || strings.HasPrefix(text, "//"):
		want := strings.TrimPrefix(text, "/")
		if !strings.HasPrefix(text, "/") {
			want = text
		}
		if len(r.reached) != 1 || r.reached[0].Kind != core.KindChat || r.reached[0].Text != want {
			t.Errorf("%q: %v reached the room, want the chat message %q", text, r.reached, want)
		}
	default:
		if len(r.reached) != 0 {
			t.Errorf("command %q: %v reached the room", text, r.reached)
		}
	}
	if len(r.reached) == 0 && len(r.events) == 0 && len(notices) == 0 && len(rejections) == 0 {
		t.Errorf("%q: nothing happened, and the sender was not told why", text)
	}
	for _, e := range r.events {
		if e.Kind != core.EventRename {
			t.Errorf("%q: a room event %v", text, e)
			continue
		}
		if err := core.CheckNick(e.NewName); err != nil || strings.EqualFold(e.NewName, reservedByServer) {
			t.Errorf("%q renamed %s to %q, not a nickname: %v", text, e.Name, e.NewName, err)
		}
		if !slices.ContainsFunc(before, func(u core.User) bool { return u.Name == e.Name }) {
			t.Errorf("%q renamed %q, who was not in the room", text, e.Name)
		}
	}
	seen := map[string]bool{}
	for _, u := range r.srv.Users() {
		if seen[strings.ToLower(u.Name)] {
			t.Errorf("after %q two in the room are called %q", text, u.Name)
		}
		seen[strings.ToLower(u.Name)] = true
	}
}
