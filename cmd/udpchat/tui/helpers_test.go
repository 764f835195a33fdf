package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"go.uber.org/goleak"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
)

// TestMain fails the run if a test left a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the tests' clock: every timestamp reads 14:30.
var t0 = time.Date(2026, 11, 28, 14, 30, 0, 0, time.Local)

// fakeChat stands for the engine: it numbers what it is sent, and refuses
// what it is told to.
type fakeChat struct {
	mu      sync.Mutex
	sent    []string
	rooms   []string // the channel each of sent was said in
	nextID  uint64
	sendErr error
	maxLen  int // CheckText refuses longer texts; 0: no limit
}

func (f *fakeChat) SendIn(_ context.Context, ch, text string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return 0, f.sendErr
	}
	f.nextID++
	f.sent = append(f.sent, text)
	f.rooms = append(f.rooms, ch)
	return f.nextID, nil
}

func (f *fakeChat) CheckText(text string) error {
	if f.maxLen > 0 && len(text) > f.maxLen {
		return fmt.Errorf("%w: %d bytes, at most about %d", core.ErrTooLong, len(text), f.maxLen)
	}
	return nil
}

func (f *fakeChat) Sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

// SentIn is what was sent, each line as "channel: text".
func (f *fakeChat) SentIn() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.sent))
	for i, text := range f.sent {
		out[i] = f.rooms[i] + ": " + text
	}
	return out
}

// harness drives a Model as the Bubble Tea runtime would, synchronously:
// it runs the commands Update returns and feeds their messages back. It
// never runs the spinner's timer, so no test waits.
type harness struct {
	t    *testing.T
	m    Model
	chat *fakeChat
	bell int  // bells rung
	quit bool // the model asked to quit
}

const testW, testH = 60, 12

func newHarness(t *testing.T, edit ...func(*Options)) *harness {
	t.Helper()
	o := Options{Server: "127.0.0.1:9000", Nick: "bob", Theme: ThemeMono, Now: func() time.Time { return t0 }}
	for _, f := range edit {
		f(&o)
	}
	h := &harness{t: t, chat: &fakeChat{}}
	h.m = New(h.chat, o)
	h.run(h.m.Init())
	h.send(tea.WindowSizeMsg{Width: testW, Height: testH})
	return h
}

// send gives msgs to the model, running what they start.
func (h *harness) send(msgs ...tea.Msg) {
	h.t.Helper()
	for _, msg := range msgs {
		h.run(h.update(msg))
	}
}

// update gives msg to the model and returns its command unrun.
func (h *harness) update(msg tea.Msg) tea.Cmd {
	next, cmd := h.m.Update(msg)
	h.m = next.(Model)
	return cmd
}

func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	case tea.QuitMsg:
		h.quit = true
	case tea.RawMsg:
		if msg.Msg == "\a" {
			h.bell++
		}
	case spinner.TickMsg:
		// Feeding it back would start the spinner's timer.
	default:
		h.send(msg)
	}
}

func (h *harness) event(evs ...client.Event) {
	h.t.Helper()
	for _, e := range evs {
		h.send(EventMsg{e})
	}
}

// msg delivers a message from the server.
func (h *harness) msg(kind core.MessageKind, from, text string) {
	h.t.Helper()
	h.event(client.MessageEvent{Message: core.Message{Kind: kind, From: from, Text: text, Time: t0}})
}

// roomMsg delivers a message of a room: channel ch's, or the lobby's for
// "", with the log offset id that a room's messages have.
func (h *harness) roomMsg(ch string, id uint64, kind core.MessageKind, from, text string) {
	h.t.Helper()
	h.event(client.MessageEvent{Message: core.Message{Kind: kind, ID: id, Room: ch, From: from, Text: text, Time: t0}})
}

// bar is the channel bar, the line above the status line, or "" when the
// screen has none.
func (h *harness) bar() string {
	l := h.screenLines()
	if !h.m.showBar() {
		return ""
	}
	return strings.TrimSpace(l[len(l)-3])
}

// wantBar fails the test unless the channel bar reads want.
func (h *harness) wantBar(want string) {
	h.t.Helper()
	if b := h.bar(); b != want {
		h.t.Fatalf("channel bar = %q, want %q:\n%s", b, want, h.screen())
	}
}

// wantSent fails the test unless the lines sent are want, each as
// "channel: text".
func (h *harness) wantSent(want ...string) {
	h.t.Helper()
	if got := h.chat.SentIn(); !slices.Equal(got, want) {
		h.t.Fatalf("sent\n%q\nwant\n%q", got, want)
	}
}

// typeText types s a character at a time, as a terminal sends it.
func (h *harness) typeText(s string) {
	h.t.Helper()
	for _, r := range s {
		h.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// enter types s and presses Enter.
func (h *harness) enter(s string) {
	h.t.Helper()
	h.typeText(s)
	h.press("enter")
}

var keys = map[string]tea.KeyPressMsg{
	"enter":      {Code: tea.KeyEnter},
	"tab":        {Code: tea.KeyTab},
	"shift+tab":  {Code: tea.KeyTab, Mod: tea.ModShift},
	"up":         {Code: tea.KeyUp},
	"down":       {Code: tea.KeyDown},
	"left":       {Code: tea.KeyLeft},
	"right":      {Code: tea.KeyRight},
	"home":       {Code: tea.KeyHome},
	"end":        {Code: tea.KeyEnd},
	"backspace":  {Code: tea.KeyBackspace},
	"pgup":       {Code: tea.KeyPgUp},
	"pgdown":     {Code: tea.KeyPgDown},
	"shift+up":   {Code: tea.KeyUp, Mod: tea.ModShift},
	"shift+down": {Code: tea.KeyDown, Mod: tea.ModShift},
	"ctrl+home":  {Code: tea.KeyHome, Mod: tea.ModCtrl},
	"ctrl+end":   {Code: tea.KeyEnd, Mod: tea.ModCtrl},
	"esc":        {Code: tea.KeyEscape},
	"ctrl+c":     {Code: 'c', Mod: tea.ModCtrl},
	"ctrl+w":     {Code: 'w', Mod: tea.ModCtrl},
	"ctrl+left":  {Code: tea.KeyLeft, Mod: tea.ModCtrl},
	"alt+left":   {Code: tea.KeyLeft, Mod: tea.ModAlt},
	"alt+right":  {Code: tea.KeyRight, Mod: tea.ModAlt},
	"alt+1":      {Code: '1', Mod: tea.ModAlt},
	"alt+3":      {Code: '3', Mod: tea.ModAlt},
}

func (h *harness) press(names ...string) {
	h.t.Helper()
	for _, n := range names {
		k, ok := keys[n]
		if !ok {
			h.t.Fatalf("no key %q in the test table", n)
		}
		if k.String() != n {
			h.t.Fatalf("key %q reads as %q", n, k.String())
		}
		h.send(k)
	}
}

// screen is what the terminal shows, without styles.
func (h *harness) screen() string { return ansi.Strip(h.m.View().Content) }

func (h *harness) screenLines() []string { return strings.Split(h.screen(), "\n") }

// line is the screen's line that contains s, or "".
func (h *harness) line(s string) string {
	for _, l := range h.screenLines() {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// status and inputLine are the screen's last two lines.
func (h *harness) status() string {
	l := h.screenLines()
	return l[len(l)-2]
}

func (h *harness) inputLine() string {
	l := h.screenLines()
	return l[len(l)-1]
}

// flat is the screen's text with wrapped lines joined again.
func (h *harness) flat() string {
	var words []string
	for _, l := range h.screenLines() {
		if l = strings.TrimSpace(l); l != "" {
			words = append(words, l)
		}
	}
	return strings.Join(words, " ")
}

// contains fails the test unless the screen shows every one of want, on one
// line or wrapped.
func (h *harness) contains(want ...string) {
	h.t.Helper()
	s, f := h.screen(), h.flat()
	for _, w := range want {
		if !strings.Contains(s, w) && !strings.Contains(f, w) {
			h.t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
}

// entries counts the lines of the channel on screen, scrolled off or not,
// that contain s.
func (h *harness) entries(s string) int {
	n := 0
	for _, e := range h.m.cur.entries {
		if strings.Contains(e.text, s) {
			n++
		}
	}
	return n
}

func (h *harness) lacks(unwanted ...string) {
	h.t.Helper()
	s := h.screen()
	for _, w := range unwanted {
		if strings.Contains(s, w) {
			h.t.Errorf("screen shows %q:\n%s", w, s)
		}
	}
}

func displayWidth(s string) int { return ansi.StringWidth(s) }
