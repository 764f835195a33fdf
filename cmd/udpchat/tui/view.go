package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// placeholder is shown in the empty input line.
const placeholder = "type a message; /help lists commands"

// View draws the screen: the channel's messages, a marker when scrolled
// back, the channel bar, the status line and the input line, with the
// terminal's cursor in the input.
func (m Model) View() tea.View {
	var rows []string
	if m.height >= 3 {
		rows = append(rows, m.view.View())
		if m.showMarker() {
			rows = append(rows, m.marker())
		}
		if m.showBar() {
			rows = append(rows, m.channelBar())
		}
	}
	if m.height >= 2 {
		rows = append(rows, m.statusLine())
	}
	in, x := m.inputLine()
	rows = append(rows, in)

	v := tea.NewView(strings.Join(rows, "\n"))
	v.AltScreen = true
	// Mouse reporting brings the wheel to the view; most terminals still
	// select text with Shift held.
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "udpchat " + m.server + " " + m.cur.name
	v.Cursor = tea.NewCursor(x, m.height-1)
	return v
}

// layout sizes the view to the window, gives it the entries' lines if they
// changed, and keeps it at the bottom while it follows.
func (m *Model) layout() {
	h := m.height - 2 // the status and input lines
	if m.showMarker() {
		h--
	}
	if m.showBar() {
		h--
	}
	m.view.SetWidth(m.width)
	m.view.SetHeight(max(h, 1))
	c := m.cur
	if m.dirty {
		var lines []string
		for _, e := range c.entries {
			lines = append(lines, m.lines(e)...)
		}
		// Few lines sit at the bottom, by the input, where the eye is, as
		// they would in a terminal.
		if pad := m.view.Height() - len(lines); pad > 0 {
			lines = append(make([]string, pad), lines...)
		}
		y := m.view.YOffset()
		if m.restore {
			y = c.yOff
		}
		m.view.SetContentLines(lines)
		if !c.follow {
			// Lines dropped from the top must not move what is being read.
			m.view.SetYOffset(y - c.trimmed)
		}
		c.trimmed, m.dirty, m.restore = 0, false, false
	}
	if c.follow {
		m.view.GotoBottom()
	}
	m.scrollInput()
}

// showMarker reports whether the marker is shown: when scrolled back, if
// the window leaves a line of messages beside it and the channel bar.
func (m *Model) showMarker() bool {
	need := 4
	if m.showBar() {
		need++
	}
	return !m.cur.follow && m.height >= need
}

// marker tells the reader that there is more below, and how much is new.
func (m *Model) marker() string {
	text := " more below: PgDn, or Esc for the newest "
	if n := m.cur.unseen; n == 1 {
		text = " 1 new message below: PgDn, or Esc for the newest "
	} else if n > 1 {
		text = fmt.Sprintf(" %d new messages below: PgDn, or Esc for the newest ", n)
	}
	text = ansi.Truncate(text, m.width, "")
	return m.theme.marker.Render(text + strings.Repeat(" ", max(m.width-lipgloss.Width(text), 0)))
}

// prompt is drawn before the input: our nickname, as IRC clients do.
func (m *Model) prompt() string {
	p := "> "
	if m.nick != "" {
		p = m.nick + "> "
	}
	return m.theme.prompt.Render(ansi.Truncate(p, max(m.width/2, 1), ""))
}

// inputLine draws the input line, scrolled sideways to keep the cursor in
// sight, and returns the cursor's column.
func (m *Model) inputLine() (string, int) {
	p := m.prompt()
	pw := lipgloss.Width(p)
	value := m.input.Value()
	if value == "" {
		return p + m.theme.placeholder.Render(ansi.Truncate(placeholder, max(m.width-pw, 0), "")), pw
	}
	avail := max(m.width-pw, 1)
	visible := ansi.Cut(value, m.inputOff, m.inputOff+avail)
	return p + m.theme.text.Render(visible), pw + m.cursorCol() - m.inputOff
}

// cursorCol is the cursor's column in the input's text: its width in
// cells up to the cursor, which is not its count of runes when the text has
// wide (CJK, emoji) characters.
func (m *Model) cursorCol() int {
	runes := []rune(m.input.Value())
	return ansi.StringWidth(string(runes[:min(m.input.Position(), len(runes))]))
}

// scrollInput moves the input's window only as far as the cursor needs, so
// that the text does not jump at every key.
func (m *Model) scrollInput() {
	avail := max(m.width-lipgloss.Width(m.prompt()), 1)
	col := m.cursorCol()
	total := ansi.StringWidth(m.input.Value())
	off := m.inputOff
	if col < off {
		off = col
	}
	if col >= off+avail {
		off = col - avail + 1
	}
	// Deleting from the end pulls the text back into the room it frees.
	off = min(off, max(total+1-avail, 0))
	m.inputOff = max(off, 0)
}
