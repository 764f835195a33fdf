package tui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/internal/termsafe"
)

// stateLabel names where the connection stands: on the way to a server,
// which KEY_REQ of how many it waits on. A state this version does not
// know (the engine may gain some) is shown by its own name.
func (m *Model) stateLabel() string {
	if a := m.attempt; a.Attempt > 0 && m.busy() {
		verb := "connecting"
		if m.connected {
			verb = "reconnecting"
		}
		return fmt.Sprintf("%s to %s (attempt %d of %d)", verb, m.server, a.Attempt, a.Of)
	}
	if !m.stateSeen {
		return "connecting"
	}
	switch m.state {
	case client.StateHandshaking:
		if m.connected {
			return "reconnecting"
		}
		return "handshaking"
	case client.StateConnected:
		return "connected"
	case client.StateFailed:
		return "failed"
	}
	return m.state.String()
}

// busy reports whether the connection is on its way somewhere, which the
// spinner shows: every state but connected and failed.
func (m *Model) busy() bool {
	return !m.stateSeen || m.state != client.StateConnected && m.state != client.StateFailed
}

// statusLine is the line under the messages: the connection state, the
// server, who we are, the protocol and suite, the server key's fingerprint
// and the round-trip time. When it does not fit, the parts that matter
// least go first (see statusPart.keep), and only then is it cut.
func (m *Model) statusLine() string {
	t := m.theme
	parts := []statusPart{{m.stateView(), 0}}
	add := func(s string, keep int) {
		if s != "" {
			parts = append(parts, statusPart{t.status.Render(s), keep})
		}
	}
	if !m.stateNamesServer() {
		add(m.server, 4)
	}
	add(m.nick, 1)
	if i := m.info; i != nil {
		if i.Version < 2 {
			add("protocol 1 (unauthenticated)", 5)
		} else {
			add(fmt.Sprintf("protocol %d %s", i.Version, i.Suite), 5)
		}
		if len(i.ServerKey) > 0 {
			add("key "+identity.ShortFingerprint(i.ServerKey), 3)
		}
	}
	if m.rtt > 0 {
		add("rtt "+formatRTT(m.rtt), 2)
	}
	join := func() string {
		var b strings.Builder
		b.WriteString(t.status.Render(" "))
		for i, p := range parts {
			if i > 0 {
				b.WriteString(t.status.Render(" | "))
			}
			b.WriteString(p.text)
		}
		return b.String()
	}
	line := join()
	for lipgloss.Width(line) > m.width && len(parts) > 1 {
		drop := 1
		for i, p := range parts {
			if p.keep > parts[drop].keep {
				drop = i
			}
		}
		parts = append(parts[:drop], parts[drop+1:]...)
		line = join()
	}
	line = ansi.Truncate(line, m.width, "")
	if w := lipgloss.Width(line); w < m.width {
		line += t.status.Render(strings.Repeat(" ", m.width-w))
	}
	return line
}

// statusPart is one part of the status line; the higher keep, the sooner
// it is dropped for want of room.
type statusPart struct {
	text string
	keep int
}

// stateNamesServer reports whether the state part of the status line
// names the server, which then needs no part of its own.
func (m *Model) stateNamesServer() bool {
	return m.busy() && (m.attempt.Attempt > 0 || m.gaveUp.Err != nil)
}

// stateView is the connection state: a spinner while it is on its way,
// and the verdict on the last handshake while the client waits to try
// again.
func (m *Model) stateView() string {
	t := m.theme
	switch {
	case m.busy() && m.gaveUp.Err != nil:
		return t.stateBad.Inherit(t.status).Render(markFailed + " " + m.gaveUpLabel())
	case m.busy():
		return m.spin.View() + t.stateBusy.Inherit(t.status).Render(" "+m.stateLabel())
	case m.state == client.StateFailed:
		label := m.stateLabel()
		if m.stateErr != nil {
			label += ": " + termsafe.Line(m.stateErr.Error())
		}
		return t.stateBad.Inherit(t.status).Render(markFailed + " " + label)
	}
	return t.stateOK.Inherit(t.status).Render(markDelivered + " " + m.stateLabel())
}

// gaveUpLabel is the verdict on the last handshake, in short, and when
// the next begins.
func (m *Model) gaveUpLabel() string {
	e := m.gaveUp
	var what string
	switch {
	case errors.Is(e.Err, client.ErrNothingListens):
		what = "nothing listens at " + e.Server.String() + " (UDP)"
	case errors.Is(e.Err, client.ErrUnreachable):
		what = "cannot reach " + e.Server.String()
	default:
		what = "no answer from " + e.Server.String()
	}
	if e.Next.IsValid() && e.Next != e.Server {
		return what + "; trying " + e.Next.String()
	}
	if left := m.gaveUpAt.Add(e.Retry).Sub(m.now()); left > 0 {
		return what + "; again in " + formatWait(left)
	}
	return what + "; trying again"
}

// formatWait rounds a wait up to what is worth reading: whole seconds, or
// tenths of one under a second.
func formatWait(d time.Duration) string {
	unit := time.Second
	if d < time.Second {
		unit = 100 * time.Millisecond
	}
	return ((d + unit - 1) / unit * unit).String()
}

// formatRTT rounds a round-trip time to what is worth reading.
func formatRTT(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
