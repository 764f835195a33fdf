package tui

import (
	"fmt"
	"regexp"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/internal/termsafe"
)

// maxNicks bounds the nicknames remembered for completion.
const maxNicks = 256

// event handles one engine event.
func (m *Model) event(ev client.Event) tea.Cmd {
	switch e := ev.(type) {
	case client.MessageEvent:
		return m.message(e.Message)
	case client.DeliveredEvent:
		m.delivery(e.ID, delivered, "")
	case client.RefusedEvent:
		m.delivery(e.ID, refused, termsafe.Line(e.Reason))
	case client.FailedEvent:
		reason := "given up"
		if e.Err != nil {
			reason = termsafe.Line(e.Err.Error())
		}
		m.delivery(e.ID, failed, reason)
	case client.StateEvent:
		return m.stateChange(e)
	case client.AttemptEvent:
		return m.attempted(e)
	case client.HandshakeFailedEvent:
		return m.handshakeFailed(e)
	case client.NoticeEvent:
		m.addLocal(lineNotice, termsafe.Line(e.Text))
	case client.RTTEvent:
		m.rtt = e.RTT
	}
	return nil
}

// message shows a message from the server in its channel (see place),
// and rings the bell for one that names us or is for us alone.
func (m *Model) message(msg core.Message) tea.Cmd {
	c := m.place(msg)
	if c == nil {
		return nil
	}
	e := &entry{kind: kindLine(msg.Kind), time: msg.Time, from: termsafe.Line(msg.From), to: termsafe.Line(msg.To), text: termsafe.Line(msg.Text)}
	// The server does not echo our messages, but history can hold what our
	// nickname said before.
	e.own = m.nick != "" && strings.EqualFold(e.from, m.nick)
	switch e.kind {
	case lineSystem:
		m.learn(e.text)
	case lineChat, lineAction, linePrivate, lineHistory:
		if !e.own {
			if e.kind != lineHistory {
				m.seen(e.from)
			} else {
				m.know(e.from)
			}
			if len(mentions(e.text, m.nick)) > 0 {
				e.mention = m.nick
			}
		}
	}
	if e.kind == lineHistory && (len(c.entries) == 0 || c.entries[len(c.entries)-1].kind != lineHistory) {
		m.addTo(c, &entry{kind: lineDivider, text: "-- earlier messages --"})
	}
	m.addTo(c, e)
	if m.bell && !e.own && e.kind != lineHistory && (e.mention != "" || e.kind == linePrivate) {
		return tea.Raw("\a")
	}
	return nil
}

// who matches one name of the server's /who answer: "alice (idle 3s)".
var who = regexp.MustCompile(`(\S+) \(idle [^)]*\)`)

// learn follows the room through the server's notices: who joins, who is
// here, and who renames, ourselves included (then mentions are looked for
// under the new name).
func (m *Model) learn(text string) {
	if from, to, ok := strings.Cut(text, " is now known as "); ok && !strings.Contains(from, " ") {
		m.forget(from)
		if strings.EqualFold(from, m.nick) {
			m.nick = to
			return
		}
		m.seen(to)
		return
	}
	if name, ok := strings.CutSuffix(text, " joined"); ok && !strings.Contains(name, " ") {
		m.seen(name)
		return
	}
	if name, ok := strings.CutSuffix(text, " left"); ok && !strings.Contains(name, " ") {
		m.forget(name)
		return
	}
	// Someone who joins a channel is still in the lobby, and leaving a
	// channel is not leaving: only a join says something new.
	if name, ch, ok := strings.Cut(text, " joined #"); ok && name != "you" && !strings.Contains(name, " ") && !strings.Contains(ch, " ") {
		m.seen(name)
		return
	}
	if list := whoList.FindStringSubmatch(text); list != nil {
		for _, w := range who.FindAllStringSubmatch(list[1], -1) {
			m.know(w[1])
		}
	}
}

// whoList matches the server's list of who is in the lobby ("3 here: ...")
// or in a channel ("2 in #go: ...", which a /join's notice ends with too).
var whoList = regexp.MustCompile(`\d+ (?:here|in #\S+): (.*)`)

// seen puts name first for completion: whoever spoke last is likeliest to
// be answered.
func (m *Model) seen(name string) {
	if name == "" || name == serverName || strings.EqualFold(name, m.nick) {
		return
	}
	m.forget(name)
	m.nicks = append([]string{name}, m.nicks...)
	if len(m.nicks) > maxNicks {
		m.nicks = m.nicks[:maxNicks]
	}
}

// know adds name for completion, after those who spoke.
func (m *Model) know(name string) {
	if name == "" || name == serverName || strings.EqualFold(name, m.nick) || len(m.nicks) >= maxNicks {
		return
	}
	for _, n := range m.nicks {
		if strings.EqualFold(n, name) {
			return
		}
	}
	m.nicks = append(m.nicks, name)
}

func (m *Model) forget(name string) {
	m.nicks = slicesDeleteFold(m.nicks, name)
}

func slicesDeleteFold(names []string, name string) []string {
	out := names[:0]
	for _, n := range names {
		if !strings.EqualFold(n, name) {
			out = append(out, n)
		}
	}
	return out
}

// stateChange follows the connection, and says in the view what changed.
func (m *Model) stateChange(e client.StateEvent) tea.Cmd {
	m.state, m.stateSeen = e.State, true
	moving := e.Server.IsValid() && e.Server.String() != m.server
	if e.Server.IsValid() {
		m.server = e.Server.String()
	}
	// A new handshake's KEY_REQs follow; a verdict stays in the status
	// line until its first.
	m.attempt = client.AttemptEvent{}
	switch e.State {
	case client.StateConnected:
		m.gaveUp, m.shown = client.HandshakeFailedEvent{}, nil
		m.stateErr = nil
		if e.Info != nil {
			info := *e.Info
			m.info = &info
			if info.Nick != "" {
				m.nick = termsafe.Line(info.Nick)
			}
		}
		what := "connected to " + m.server
		switch {
		case m.connected && m.lastServer != m.server:
			what += " (moved from " + m.lastServer + ")"
		case m.connected:
			what = "reconnected to " + m.server
		}
		m.connected, m.lastServer = true, m.server
		m.addLocal(lineLocal, what+describe(m.info, m.nick))
	case client.StateFailed:
		m.gaveUp = client.HandshakeFailedEvent{}
		m.stateErr = e.Err
		why := "the client gave up"
		if e.Err != nil {
			why = termsafe.Line(e.Err.Error())
		}
		m.addLocal(lineLocalError, "connection failed: "+why+" (/quit to leave)")
	case client.StateHandshaking:
		if m.connected {
			m.addLocal(lineLocal, "messages are not getting through: starting a new session")
		}
	case client.StateReconnecting:
		what := "connection: reconnecting"
		if moving {
			what += " to " + m.server
		}
		m.addLocal(lineLocal, what)
	default:
		m.addLocal(lineLocal, "connection: "+e.State.String())
	}
	return m.startSpinner()
}

// attempted follows the handshake's KEY_REQs, which the status line
// counts.
func (m *Model) attempted(e client.AttemptEvent) tea.Cmd {
	m.attempt, m.gaveUp = e, client.HandshakeFailedEvent{}
	if e.Server.IsValid() {
		m.server = e.Server.String()
	}
	return m.startSpinner()
}

// handshakeFailed shows the verdict on a handshake the client gave up on,
// and where it goes from there: in the view, unless an earlier handshake's
// said the same since the client was last connected, and in the status
// line until the next begins.
func (m *Model) handshakeFailed(e client.HandshakeFailedEvent) tea.Cmd {
	if e.Err == nil {
		return nil
	}
	m.attempt, m.gaveUp, m.gaveUpAt = client.AttemptEvent{}, e, m.now()
	verdict := termsafe.Line(e.Err.Error())
	if !m.shown[verdict] {
		if m.shown == nil {
			m.shown = make(map[string]bool)
		}
		m.shown[verdict] = true
		next := "trying " + e.Next.String() + " next"
		if e.Next == e.Server || !e.Next.IsValid() {
			next = "trying again in " + formatWait(e.Retry)
		}
		m.addLocal(lineLocalError, "connection failed: "+verdict+"; "+next+" (/quit to leave)")
	}
	return m.startSpinner()
}

// describe says what a session is: its nickname, protocol, suite and
// server key.
func describe(info *client.SessionInfo, nick string) string {
	if info == nil {
		return ""
	}
	if info.Version < 2 {
		return " (protocol 1, the seed's: the server is not authenticated)"
	}
	s := fmt.Sprintf(" as %s (protocol %d, %s", nick, info.Version, info.Suite)
	if len(info.ServerKey) > 0 {
		s += ", server key " + identity.Fingerprint(info.ServerKey)
	}
	return s + ")"
}
