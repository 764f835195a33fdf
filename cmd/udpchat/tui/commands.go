package tui

import (
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/server"
)

// localCommands are the commands the UI runs itself; every other line goes
// to the server, which has commands of its own (server.CommandNames).
var localCommands = []struct{ name, usage string }{
	{"/help", "/help: this list, then the server's commands"},
	{"/quit", "/quit: leave (Ctrl+C does too)"},
	{"/retry", "/retry: send the last message that was not delivered again"},
	{"/clear", "/clear: clear this channel's messages"},
	{"/theme", "/theme color|mono: change the colours"},
	{"/bell", "/bell [on|off]: ring the terminal bell when you are mentioned or messaged"},
}

// keyHelp says what the keys do, for /help.
var keyHelp = []string{
	"keys: Enter sends; Up/Down walk the lines you sent; Tab completes commands and nicknames (again for the next one)",
	"keys: PgUp/PgDn, Shift+Up/Down or the mouse wheel scroll back; Esc or Ctrl+End return to the newest; Ctrl+Home goes to the oldest",
	"keys: Left/Right, Ctrl+Left/Right by word, Home/End, Ctrl+W deletes a word, Ctrl+U the line before the cursor, Ctrl+C quits",
	"keys: Alt+Left/Right show the previous or next channel, Alt+1 to Alt+9 the first to ninth of the bar",
	"channels: /join #name shows #name at once, /part leaves the one shown; a line goes to the channel shown, and so does what the server says to you alone",
	"the bar above the status line lists them: [#go] is shown, #lobby+3 got 3 lines since you looked, #rust+1! one that names you",
	"a line starting with // sends the text with one / less",
}

// commandNames lists every command, local and the server's, for completion.
func commandNames() []string {
	var names []string
	for _, c := range localCommands {
		names = append(names, c.name)
	}
	for _, n := range server.CommandNames() {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// submit handles Enter: a local command, or a line for the server.
func (m *Model) submit() tea.Cmd {
	line := m.input.Value()
	if strings.TrimSpace(line) == "" {
		return nil
	}
	m.hist.Add(line)
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "/quit", "/exit":
		return tea.Quit
	case "/help":
		m.input.Reset()
		m.help()
		return m.send(line) // the server's /help lists the server's commands
	case "/retry":
		m.input.Reset()
		return m.retry()
	case "/clear":
		m.input.Reset()
		m.cur.entries, m.cur.unseen, m.dirty = nil, 0, true
		m.toBottom()
		return nil
	case "/join":
		if ch, err := core.ParseChannel(arg); err == nil && m.channels() && !strings.Contains(arg, " ") {
			return m.join(line, ch)
		}
	case "/part":
		if m.channels() {
			return m.part(line, arg)
		}
	case "/theme":
		m.input.Reset()
		m.themeCommand(arg)
		return nil
	case "/bell":
		m.input.Reset()
		m.bellCommand(arg)
		return nil
	}
	return m.send(line)
}

func (m *Model) help() {
	m.addLocal(lineLocal, "commands of this client:")
	for _, c := range localCommands {
		m.addLocal(lineLocal, "  "+c.usage)
	}
	for _, h := range keyHelp {
		m.addLocal(lineLocal, h)
	}
	// The server describes its own commands; a seed server has none, and
	// says nothing, so their names are listed here too.
	m.addLocal(lineLocal, "the server's commands: "+strings.Join(server.CommandNames(), " ")+"; its /help follows:")
}

func (m *Model) themeCommand(arg string) {
	switch arg {
	case "":
		m.addLocal(lineLocal, "theme: "+m.theme.name+" (/theme "+ThemeColor+" or /theme "+ThemeMono+")")
	case ThemeColor, ThemeMono:
		m.setTheme(arg)
		m.addLocal(lineLocal, "theme: "+arg)
	default:
		m.addLocal(lineLocalError, CheckTheme(arg).Error())
	}
}

func (m *Model) bellCommand(arg string) {
	switch arg {
	case "":
		m.bell = !m.bell
	case "on":
		m.bell = true
	case "off":
		m.bell = false
	default:
		m.addLocal(lineLocalError, "usage: /bell [on|off]")
		return
	}
	if m.bell {
		m.addLocal(lineLocal, "bell: on")
	} else {
		m.addLocal(lineLocal, "bell: off")
	}
}
