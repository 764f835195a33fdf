package tui

import (
	"time"

	"github.com/udpchat/udpchat/core"
)

// lineKind is what an entry of the message view is, which decides how it
// is drawn.
type lineKind uint8

const (
	lineChat       lineKind = iota // someone's message to the room
	lineAction                     // "* alice waves"
	linePrivate                    // to one person
	lineSystem                     // the server's notice
	lineError                      // the server refused something of ours
	lineHistory                    // a message from before we joined
	lineCommand                    // a command we sent, such as /who
	lineNotice                     // the engine's warning (NoticeEvent)
	lineLocal                      // the UI's own information: help, state changes
	lineLocalError                 // the UI's own error: a line that cannot be sent
	lineDivider                    // a rule, such as the one before history
)

// kindLine maps a message kind to how it is drawn; a kind this version does
// not know is drawn as chat, so that a newer server's messages still show.
func kindLine(k core.MessageKind) lineKind {
	switch k {
	case core.KindAction:
		return lineAction
	case core.KindPrivate:
		return linePrivate
	case core.KindSystem:
		return lineSystem
	case core.KindError:
		return lineError
	case core.KindHistory:
		return lineHistory
	}
	return lineChat
}

// delivery is where one of our own messages stands.
type delivery uint8

const (
	notOwn    delivery = iota // not ours: no delivery state to show
	pending                   // given to the engine, not yet acknowledged
	delivered                 // the server acknowledged it
	failed                    // given up on; /retry sends it again
	refused                   // the server received it and refused it (version 2 only)
)

// entry is one item of the message view. Own messages are updated in place
// as their delivery state changes, so entries are held by pointer.
type entry struct {
	kind lineKind
	time time.Time
	from string
	to   string
	text string // what is shown; for own messages, what the line meant
	own  bool   // sent by us, or by our nickname before (history)

	// mention is our nickname when the text mentions it, kept as it was
	// then: a later /nick does not change what was highlighted.
	mention string

	// Own messages sent in this session.
	line   string // the line as typed, which /retry sends again
	room   string // the channel it is said in, which /retry says it in again
	joins  string // the channel it joins (/join), whose view a refusal closes
	parts  string // the channel it leaves (/part), which a refusal keeps
	key    int    // numbers it before Send returns an ID
	id     uint64 // the engine's ID, once Send returned
	state  delivery
	reason string // why it failed or was refused
	resent bool   // /retry sent it again, as a new entry

	// The rendered lines, for the width they were rendered at; nil when
	// the entry changed since.
	cache  []string
	cacheW int
}

// touch drops the rendered lines, after a change to the entry.
func (e *entry) touch() { e.cache = nil }
