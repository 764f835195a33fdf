package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/udpchat/udpchat/internal/termsafe"
)

// sentMsg is what Send returned for the own message numbered key.
type sentMsg struct {
	key int
	id  uint64
	err error
}

// send shows line as our message in the channel on screen, pending, and
// queues it for the engine, said in that channel.
func (m *Model) send(line string) tea.Cmd {
	_, cmd := m.enqueue(line, m.cur.name)
	return cmd
}

// enqueue shows line as our message in the channel on screen, pending,
// queues it for the engine, said in channel room, and returns the new
// entry, or nil if line was not accepted. A line the engine could never
// send stays in the input, so that it can be shortened, and is not shown as
// a message.
func (m *Model) enqueue(line, room string) (*entry, tea.Cmd) {
	if err := m.chat.CheckText(line); err != nil {
		m.addLocal(lineLocalError, "not sent: "+err.Error())
		return nil, nil
	}
	m.input.Reset()
	m.nextKey++
	e := m.ownEntry(line)
	e.key, e.state, e.room = m.nextKey, pending, room
	m.toBottom() // what we send, we want to see
	m.add(e)
	m.queue = append(m.queue, e)
	return e, m.sendNext()
}

// ownEntry is the entry for a line we send, drawn as what the server will
// make of it: /me as an action, /msg as a private message, another command
// as a command, "//text" as "/text".
func (m *Model) ownEntry(line string) *entry {
	from := m.nick
	if from == "" {
		from = "you"
	}
	e := &entry{kind: lineChat, own: true, from: from, line: line, text: termsafe.Line(line)}
	if strings.HasPrefix(line, "//") {
		e.text = termsafe.Line(line[1:])
		return e
	}
	if !strings.HasPrefix(line, "/") {
		return e
	}
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	e.kind = lineCommand
	switch name {
	case "/me":
		if arg != "" {
			e.kind, e.text = lineAction, termsafe.Line(arg)
		}
	case "/msg":
		to, text, _ := strings.Cut(arg, " ")
		if text = strings.TrimSpace(text); to != "" && text != "" {
			e.kind, e.to, e.text = linePrivate, termsafe.Line(to), termsafe.Line(text)
		}
	}
	return e
}

// sendNext gives the next queued message to the engine, if none is on its
// way: one at a time keeps them in the order they were typed.
func (m *Model) sendNext() tea.Cmd {
	if m.sending != nil || len(m.queue) == 0 {
		return nil
	}
	e := m.queue[0]
	m.queue = m.queue[1:]
	m.sending = e
	chat, ctx, key, room, line := m.chat, m.ctx, e.key, e.room, e.line
	return func() tea.Msg {
		id, err := chat.SendIn(ctx, room, line)
		return sentMsg{key: key, id: id, err: err}
	}
}

// sent records what Send returned, and sends the next message.
func (m *Model) sent(msg sentMsg) tea.Cmd {
	e := m.sending
	if e == nil || e.key != msg.key {
		return nil
	}
	m.sending = nil
	if msg.err != nil {
		m.settle(e, failed, msg.err.Error())
	} else {
		e.id = msg.id
		m.byID[msg.id] = e
		if s, ok := m.early[msg.id]; ok {
			m.settle(e, s.state, s.reason)
		}
	}
	// Outcomes can arrive early only for the message whose Send was under
	// way; the rest were for IDs that are not ours.
	clear(m.early)
	return m.sendNext()
}

// delivery records the outcome the engine reported for message id:
// delivered, refused or failed, and why.
func (m *Model) delivery(id uint64, state delivery, reason string) {
	if e, found := m.byID[id]; found {
		m.settle(e, state, reason)
		return
	}
	if m.sending != nil {
		// The engine can settle a message before Send's return reaches us.
		m.early[id] = settled{state: state, reason: reason}
	}
}

func (m *Model) settle(e *entry, state delivery, reason string) {
	delete(m.byID, e.id)
	e.state, e.reason = state, reason
	e.touch()
	m.dirty = true
	if state != delivered {
		if e.parts != "" {
			// The server did not take us out of the channel: what it
			// still says there shows again, in a view of its own.
			delete(m.parted, e.parts)
		}
	}
	if state == refused && e.joins != "" {
		m.refusedJoin(e)
	}
}

// retry sends the newest message of the channel on screen that was not
// delivered again, as a new message in the channel it was said in: the
// room sees it now, after what was said since.
func (m *Model) retry() tea.Cmd {
	for i := len(m.cur.entries) - 1; i >= 0; i-- {
		e := m.cur.entries[i]
		if e.state != failed || e.resent {
			continue
		}
		again, cmd := m.enqueue(e.line, e.room)
		if again != nil {
			e.resent = true
			e.touch()
			again.joins, again.parts = e.joins, e.parts
			if e.parts != "" {
				m.close(e.parts)
			}
		}
		return cmd
	}
	m.addLocal(lineLocal, "no undelivered message to send again")
	return nil
}
