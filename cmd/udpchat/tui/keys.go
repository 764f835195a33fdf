package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/udpchat/udpchat/cmd/udpchat/tui/input"
)

// key handles a key press. The input line gets every key the UI does not
// claim: Enter, Tab, Up and Down (history), scrolling, switching channels
// (Alt+Left/Right, which the input would take to move by word, as
// Ctrl+Left/Right still do; Alt+1 to 9) and Ctrl+C. The view
// scrolls with keys that no editing uses, so that scrolling never moves the
// cursor and typing never scrolls.
func (m Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := msg.String()
	if k != "tab" && k != "shift+tab" {
		m.comp.Reset()
	}
	var cmd tea.Cmd
	switch k {
	case "ctrl+c":
		return m, tea.Quit
	case "enter":
		cmd = m.submit()
	case "tab", "shift+tab":
		m.complete(k == "shift+tab")
	case "up", "ctrl+p":
		if s, ok := m.hist.Prev(m.input.Value()); ok {
			m.setInput(s)
		}
	case "down", "ctrl+n":
		if s, ok := m.hist.Next(); ok {
			m.setInput(s)
		}
	case "pgup":
		m.view.PageUp()
		m.scrolled()
	case "pgdown":
		m.view.PageDown()
		m.scrolled()
	case "shift+up":
		m.view.ScrollUp(1)
		m.scrolled()
	case "shift+down":
		m.view.ScrollDown(1)
		m.scrolled()
	case "ctrl+home":
		m.view.GotoTop()
		m.scrolled()
	case "ctrl+end", "esc":
		m.toBottom()
	case "ctrl+l":
		cmd = tea.ClearScreen
	case "alt+right":
		m.cycle(1)
	case "alt+left":
		m.cycle(-1)
	case "alt+1", "alt+2", "alt+3", "alt+4", "alt+5", "alt+6", "alt+7", "alt+8", "alt+9":
		// As in irssi and weechat: the channel at that place in the bar.
		if i := int(k[len(k)-1] - '1'); i < len(m.chans) {
			m.show(m.chans[i])
		}
	default:
		m.input, cmd = m.input.Update(msg)
	}
	m.layout()
	return m, cmd
}

// scrolled notes where the view stands after the user scrolled it.
func (m *Model) scrolled() {
	m.cur.follow = m.view.AtBottom()
	if m.cur.follow {
		m.cur.unseen = 0
	}
}

// toBottom shows the newest lines, and follows them from then on.
func (m *Model) toBottom() {
	m.cur.follow, m.cur.unseen = true, 0
	m.view.GotoBottom()
}

// setInput replaces the input line, with the cursor at its end.
func (m *Model) setInput(s string) {
	m.input.SetValue(s)
	m.input.CursorEnd()
}

// complete completes the word before the cursor: a command at the start
// of the line, else a nickname seen in the room.
func (m *Model) complete(back bool) {
	src := input.Sources{Commands: commandNames(), Nicks: m.nicks}
	line, cur, ok := m.comp.Complete(m.input.Value(), m.input.Position(), src, back)
	if ok {
		m.input.SetValue(line)
		m.input.SetCursor(cur)
	}
}
