package tui

import (
	"strings"
	"time"

	"charm.land/lipgloss/v2"
)

// Delivery marks, chosen among characters every terminal draws one column
// wide (not East Asian "ambiguous"), so that lines never shift.
const (
	markPending   = "⋯"
	markDelivered = "✓"
	markFailed    = "✗"
)

// minHanging is the narrowest text column worth a hanging indent; below it,
// wrapped lines start at the left edge.
const minHanging = 12

// lines renders e for the current width, from the cache when it can.
func (m *Model) lines(e *entry) []string {
	if e.cache != nil && e.cacheW == m.width {
		return e.cache
	}
	e.cache, e.cacheW = m.render(e), m.width
	return e.cache
}

// render draws e: a timestamp, then the line wrapped under itself (a
// hanging indent), so that timestamps stay a column of their own.
func (m *Model) render(e *entry) []string {
	width := max(m.width, 1)
	if e.kind == lineDivider {
		return []string{m.theme.divider.Render(truncate(e.text, width))}
	}
	prefix := m.theme.time.Render(stamp(e.time, m.now())) + " "
	body := m.body(e)
	indent := lipgloss.Width(prefix)
	if width-indent < minHanging {
		return strings.Split(lipgloss.Wrap(prefix+body, width, ""), "\n")
	}
	lines := strings.Split(lipgloss.Wrap(body, width-indent, ""), "\n")
	pad := strings.Repeat(" ", indent)
	for i := range lines {
		if i == 0 {
			lines[i] = prefix + lines[i]
		} else {
			lines[i] = pad + lines[i]
		}
	}
	return lines
}

// body is the entry without its timestamp.
func (m *Model) body(e *entry) string {
	t := m.theme
	name := t.nick(e.from, e.own).Render(e.from)
	var s string
	switch e.kind {
	case lineChat:
		s = name + ": " + m.highlight(e.text, e.mention, t.text)
	case lineAction:
		s = t.action.Render("* ") + name + " " + m.highlight(e.text, e.mention, t.action)
	case linePrivate:
		tag := "[private] "
		if e.own {
			tag = "[private to " + e.to + "] "
		}
		s = t.private.Render(tag) + name + ": " + m.highlight(e.text, e.mention, t.private)
	case lineHistory:
		s = t.history.Render(e.from+": ") + m.highlight(e.text, e.mention, t.history)
	case lineCommand:
		s = t.command.Render("> " + e.text)
	case lineSystem:
		text := e.text
		if e.from != "" && e.from != serverName {
			text = e.from + ": " + text
		}
		s = t.system.Render("-!- " + text)
	case lineError:
		s = t.errorLine.Render("-!- error: " + e.text)
	case lineNotice:
		s = t.notice.Render("-!- warning: " + e.text)
	case lineLocal:
		s = t.local.Render("-*- " + e.text)
	case lineLocalError:
		s = t.errorLine.Render("-*- " + e.text)
	}
	return s + m.deliveryMark(e)
}

// deliveryMark is what follows one of our messages: where it stands.
func (m *Model) deliveryMark(e *entry) string {
	t := m.theme
	switch e.state {
	case pending:
		return " " + t.pending.Render(markPending)
	case delivered:
		return " " + t.delivered.Render(markDelivered)
	case failed:
		if e.resent {
			return " " + t.failed.Render(markFailed+" not delivered (sent again below)")
		}
		return " " + t.failed.Render(markFailed+" not delivered: "+e.reason+" (/retry sends it again)")
	case refused:
		// Sending it again would be refused again: no /retry.
		return " " + t.failed.Render(markFailed+" refused: "+e.reason)
	}
	return ""
}

// highlight styles text with base, and each mention of nick in it with the
// mention style.
func (m *Model) highlight(text, nick string, base lipgloss.Style) string {
	var b strings.Builder
	last := 0
	for _, r := range mentions(text, nick) {
		b.WriteString(base.Render(text[last:r[0]]))
		b.WriteString(m.theme.mention.Render(text[r[0]:r[1]]))
		last = r[1]
	}
	b.WriteString(base.Render(text[last:]))
	return b.String()
}

// stamp is a message's time as shown: the time of day, and the date too
// when it is not today (history can be older).
func stamp(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.Date()
	if y1 == y2 && m1 == m2 && d1 == d2 {
		return t.Format("15:04")
	}
	return t.Format("Jan 02 15:04")
}
