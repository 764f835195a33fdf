package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/cmd/udpchat/tui/input"
	"github.com/udpchat/udpchat/core"
)

// serverName is the sender name of the server's own messages.
const serverName = core.SystemSender

// maxEntries bounds the scrollback: a long session must not grow without
// end, and every redraw of the view walks it.
const maxEntries = 5000

// Model is the chat UI, a Bubble Tea model. Make one with New.
type Model struct {
	chat Chat
	ctx  context.Context // bounds Send; Run cancels it on the way out
	now  func() time.Time

	server string // the one the client is connected to or on its way to
	// lastServer is the one the last session was with: a session with
	// another is a move, which the view says.
	lastServer string
	nick       string // ours: asked for, then what the server says
	theme      theme
	bell       bool

	width, height int
	view          viewport.Model
	input         textinput.Model
	inputOff      int // columns of the input scrolled off to the left
	spin          spinner.Model
	spinning      bool // a spinner tick is on its way

	hist *input.History
	comp *input.Completer

	// The lobby first, then the channels the user is in, in the order
	// they came; cur is the one on screen.
	chans []*channel
	cur   *channel
	dirty bool // cur's entries changed since the view's content was set
	// restore: cur was switched to, so the view goes back to where cur
	// stood, not where the last channel did.
	restore bool
	// parted are the channels the user left here, whose messages still on
	// their way are dropped.
	parted map[string]bool

	// The session, for the status line.
	state     client.ConnState
	stateSeen bool // a StateEvent came; before it we are connecting
	connected bool // was connected once: a new handshake is a reconnection
	stateErr  error
	info      *client.SessionInfo
	rtt       time.Duration

	// On the way to a server: the last KEY_REQ sent, or, once the
	// client gave up on a handshake, its verdict and when, until the next
	// begins. shown are the verdicts put in the view since the client was
	// last connected: one that comes again shows only in the status line.
	// There are few: each names a server, and what it drew.
	attempt  client.AttemptEvent
	gaveUp   client.HandshakeFailedEvent
	gaveUpAt time.Time
	shown    map[string]bool

	nicks []string // seen in the room, most recent first, for completion

	// Own messages on their way to the engine. They are sent one at a time,
	// in order: Send can block, so it runs as a command, and two commands
	// in flight could reach the engine in either order.
	nextKey int
	queue   []*entry
	sending *entry
	byID    map[uint64]*entry
	early   map[uint64]settled // settled before Send returned their ID
}

// settled is a delivery outcome that arrived before its ID was known.
type settled struct {
	state  delivery
	reason string
}

// New returns the UI for chat. Run runs it; a program that runs it itself
// must feed it the engine's events as EventMsgs.
func New(chat Chat, opts Options) Model {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	m := Model{
		chat:   chat,
		ctx:    context.Background(),
		now:    now,
		server: opts.Server,
		nick:   opts.Nick,
		bell:   opts.Bell,
		width:  80,
		height: 24,
		view:   viewport.New(),
		input:  textinput.New(),
		spin:   spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		hist:   input.NewHistory(0),
		comp:   &input.Completer{},
		byID:   make(map[uint64]*entry),
		early:  make(map[uint64]settled),
		parted: make(map[string]bool),
	}
	m.chans = []*channel{newChannel(core.Lobby)}
	m.chans[0].in = true // everyone is
	m.cur = m.chans[0]
	m.setTheme(themeName(opts.Theme))
	if err := CheckTheme(opts.Theme); err != nil {
		m.addLocal(lineLocalError, err.Error()+": using "+ThemeColor)
	}

	// The view scrolls only by the keys the UI gives it: its own bindings
	// (space, j, k, b, f...) are letters the user types.
	m.view.KeyMap = viewport.KeyMap{}
	m.view.MouseWheelEnabled = true

	// The UI draws the input line itself, with the terminal's own cursor:
	// the input's cursor counts runes, and a CJK character is two columns.
	m.input.Prompt = ""
	m.input.SetVirtualCursor(false)
	m.input.KeyMap.AcceptSuggestion = key.NewBinding()
	m.input.KeyMap.NextSuggestion = key.NewBinding()
	m.input.KeyMap.PrevSuggestion = key.NewBinding()
	m.input.Focus()
	m.layout()
	// Init starts the spinner's ticks but cannot record it: Init has no
	// model to return.
	m.spinning = true
	return m
}

// Init starts the spinner: the client is connecting.
func (m Model) Init() tea.Cmd {
	return m.spin.Tick
}

// Update handles a key, the mouse, a resize, an engine event or the result
// of a Send.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 1), max(msg.Height, 1)
		m.dirty = true // every entry wraps anew; the cache sees the width
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.PasteMsg:
		m.comp.Reset()
		m.input, cmd = m.input.Update(msg)
	case tea.MouseWheelMsg:
		m.view, cmd = m.view.Update(msg)
		m.scrolled()
	case EventMsg:
		cmd = m.event(msg.Event)
	case sentMsg:
		cmd = m.sent(msg)
	case spinner.TickMsg:
		if !m.busy() {
			m.spinning = false // the chain of ticks ends here
			return m, nil
		}
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	}
	m.layout()
	return m, cmd
}

// startSpinner starts the spinner's ticks, unless they already run.
func (m *Model) startSpinner() tea.Cmd {
	if m.spinning || !m.busy() {
		return nil
	}
	m.spinning = true
	return m.spin.Tick
}

// setTheme changes the styles, and so every rendered line.
func (m *Model) setTheme(name string) {
	m.theme = newTheme(name)
	st := m.input.Styles()
	st.Focused.Text, st.Blurred.Text = m.theme.text, m.theme.text
	m.input.SetStyles(st)
	m.spin.Style = m.theme.stateBusy.Inherit(m.theme.status)
	for _, c := range m.chans {
		for _, e := range c.entries {
			e.touch()
		}
	}
	m.dirty = true
}

// add appends an entry to the channel on screen.
func (m *Model) add(e *entry) { m.addTo(m.cur, e) }

// addTo appends an entry to channel c, unread if c is not on screen.
func (m *Model) addTo(c *channel, e *entry) {
	if e.time.IsZero() {
		e.time = m.now()
	}
	c.entries = append(c.entries, e)
	if len(c.entries) > maxEntries {
		drop := len(c.entries) - maxEntries
		if !c.follow {
			// Only a view scrolled back must keep its place.
			for _, old := range c.entries[:drop] {
				c.trimmed += len(m.lines(old))
			}
		}
		c.entries = append(c.entries[:0:0], c.entries[drop:]...)
	}
	if !c.follow {
		c.unseen++
	}
	if c != m.cur {
		if !e.own && unreadKind(e.kind) {
			c.unread++
			c.mention = c.mention || e.mention != ""
		}
		return
	}
	m.dirty = true
}

// addLocal appends a line of the UI's own to the channel on screen.
func (m *Model) addLocal(kind lineKind, text string) {
	m.add(&entry{kind: kind, text: text})
}
