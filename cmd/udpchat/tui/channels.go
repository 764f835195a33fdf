package tui

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/udpchat/udpchat/core"
)

// channel is one view of the UI: the lobby, or a channel the user is in.
// Each has its own scrollback and its own place in it, so that switching
// away and back finds a channel as it was left.
type channel struct {
	name    string // core.Lobby, or "#name" as core.ParseChannel writes it
	entries []*entry
	trimmed int  // lines dropped from the top since the view last showed them
	follow  bool // at the bottom: new lines scroll into view
	unseen  int  // entries that arrived while scrolled back
	yOff    int  // where the view stood when another channel was shown

	// What the user has not looked at: lines of talk that came while
	// another channel was shown, and whether one of them names us.
	unread  int
	mention bool

	// in: the server said we are in it, with a message of the channel or
	// a notice of our joining it.
	in bool
}

func newChannel(name string) *channel {
	return &channel{name: name, follow: true}
}

// channels reports whether the session can have channels: a version 1
// server (the seed's) has only its one room, and would say a /join to
// everyone, so there the UI shows the lobby alone and sends lines as
// typed. Before the handshake says, it assumes a udpchat server.
func (m *Model) channels() bool {
	return m.info == nil || m.info.Version >= 2
}

// find returns the view of channel name, or nil.
func (m *Model) find(name string) *channel {
	for _, c := range m.chans {
		if c.name == name {
			return c
		}
	}
	return nil
}

// open returns the view of channel name, adding it after the others if
// there is none.
func (m *Model) open(name string) *channel {
	if c := m.find(name); c != nil {
		return c
	}
	c := newChannel(name)
	m.chans = append(m.chans, c)
	return c
}

// show makes c the channel on screen: what it had unread is read now.
func (m *Model) show(c *channel) {
	c.unread, c.mention = 0, false
	if c == m.cur {
		return
	}
	if !m.restore {
		// Else the view still shows the channel switched from before
		// this one, and has not been given cur's lines.
		m.cur.yOff = m.view.YOffset()
	}
	m.cur = c
	m.restore, m.dirty = true, true
}

// cycle shows the channel delta places along the bar, round its ends.
func (m *Model) cycle(delta int) {
	i := slices.Index(m.chans, m.cur)
	n := len(m.chans)
	m.show(m.chans[((i+delta)%n+n)%n])
}

// close drops the view of channel name, which the user parted, and shows
// the lobby if it was on screen. Its messages still on their way are
// dropped when they come, until the user joins it again.
func (m *Model) close(name string) {
	if name == core.Lobby {
		return
	}
	m.parted[name] = true
	m.remove(name)
}

// remove drops the view of channel name, if there is one, and shows the
// lobby if it was on screen.
func (m *Model) remove(name string) {
	c := m.find(name)
	if c == nil || c == m.lobby() {
		return
	}
	if c == m.cur {
		m.show(m.lobby())
	}
	m.chans = slices.DeleteFunc(m.chans, func(o *channel) bool { return o == c })
}

// lobby is the lobby's view, always the first.
func (m *Model) lobby() *channel { return m.chans[0] }

// youAreIn matches the server's notices about the channel we went to,
// which come without a Room, being for us alone: "you joined #go (topic:
// ...); 2 in #go: ...", "you are talking in #go; ..." and "you left #go;
// you are talking in #lobby".
var youAreIn = regexp.MustCompile(`^you (?:joined|are talking in|left #\S+; you are talking in) (#[^\s;()]+)`)

// place returns the view msg belongs in, or nil for a message of a
// channel the user parted (it was on its way as they did). A channel's
// messages name it. The lobby's name none but, being in its log, have an
// ID; a message for us alone (private, an error, a notice) has neither, and
// shows in the channel on screen, where the user is looking, except a
// notice about a channel we went to, which shows there.
func (m *Model) place(msg core.Message) *channel {
	if msg.Room != "" && core.CheckChannel(msg.Room) == nil {
		if m.parted[msg.Room] {
			return nil
		}
		c := m.open(msg.Room)
		c.in = true
		return c
	}
	if msg.Room == "" && msg.ID != 0 {
		return m.lobby()
	}
	if msg.Kind == core.KindSystem {
		if ch := youAreIn.FindStringSubmatch(msg.Text); ch != nil {
			if c := m.find(ch[1]); c != nil {
				c.in = true
				return c
			}
		}
	}
	return m.cur
}

// join shows channel ch at once and asks the server to join it, with
// line, the user's /join: its own line and its delivery mark show in ch.
func (m *Model) join(line, ch string) tea.Cmd {
	delete(m.parted, ch)
	m.show(m.open(ch))
	// Said in the lobby, which the session is always in: it is not in ch
	// yet, and a line said in a channel it is not in is refused.
	e, cmd := m.enqueue(line, core.Lobby)
	if e != nil {
		e.joins = ch
	}
	return cmd
}

// refusedJoin closes the view a /join opened, which the server refused
// (the session is in as many channels as it may be, say): there is no
// such channel to show. Why shows in the channel shown then. A /join of a
// channel we are in (which the server refuses only when it is too busy)
// leaves it alone.
func (m *Model) refusedJoin(e *entry) {
	c := m.find(e.joins)
	if c == nil || c.in {
		return
	}
	m.remove(e.joins)
	m.addLocal(lineLocalError, e.line+" refused: "+e.reason)
}

// part closes the view of the channel arg names, or of the one on screen,
// and asks the server to leave it; the lobby cannot be left, which the
// server says.
func (m *Model) part(line, arg string) tea.Cmd {
	ch := m.cur.name
	if arg != "" {
		p, err := core.ParseChannel(arg)
		if err != nil || strings.Contains(arg, " ") {
			return m.send(line) // the server says what is wrong with it
		}
		ch = p
	} else {
		// The server's bare /part leaves the channel it takes commands
		// in, which need not be the one on screen.
		line = "/part " + ch
	}
	m.close(ch)
	e, cmd := m.enqueue(line, core.Lobby)
	if e != nil && ch != core.Lobby {
		e.parts = ch
	}
	return cmd
}

// unreadKind reports whether an entry of kind counts as unread in a
// channel not on screen: talk does; the comings and goings do not, or a
// busy lobby would always look unread.
func unreadKind(k lineKind) bool {
	return k == lineChat || k == lineAction
}

// barMinHeight is the smallest window that has a line for the channel
// bar: below it, the messages keep the line.
const barMinHeight = 4

// showBar reports whether the channel bar is drawn: once there is a
// channel besides the lobby to switch to.
func (m *Model) showBar() bool {
	return len(m.chans) > 1 && m.height >= barMinHeight
}

// channelBar is the line of channels above the status line: the one on
// screen in brackets, the others with how many lines of talk came since
// the user last looked ("#lobby+3"), and "!" when one of them names us.
// When they do not fit, the bar starts late enough to
// show the current one, and says so with "<".
func (m *Model) channelBar() string {
	t := m.theme
	var labels []string
	active := 0
	for i, c := range m.chans {
		switch {
		case c == m.cur:
			active = i
			labels = append(labels, t.barActive.Render("["+c.name+"]"))
		case c.mention:
			labels = append(labels, t.barMention.Render(c.name+"+"+strconv.Itoa(c.unread)+"!"))
		case c.unread > 0:
			labels = append(labels, t.barUnread.Render(c.name+"+"+strconv.Itoa(c.unread)))
		default:
			labels = append(labels, t.bar.Render(c.name))
		}
	}
	sep := t.bar.Render(" ")
	start := 0
	line := func() string {
		lead := " "
		if start > 0 {
			lead = "<"
		}
		return t.bar.Render(lead) + strings.Join(labels[start:], sep)
	}
	for start < active && lipgloss.Width(t.bar.Render(" ")+strings.Join(labels[start:active+1], sep)) > m.width {
		start++
	}
	s := truncate(line(), m.width)
	if w := lipgloss.Width(s); w < m.width {
		s += t.bar.Render(strings.Repeat(" ", m.width-w))
	}
	return s
}
