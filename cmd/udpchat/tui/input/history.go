package input

// History is the list of lines sent, walked with Up and Down as a shell's
// history is. Walking away from the line being typed keeps it as a draft,
// and walking back past the newest line restores it, so that looking
// something up never loses what was being written.
type History struct {
	lines []string
	max   int
	pos   int // index into lines of the line shown; len(lines) is the draft
	draft string
}

// DefaultHistory is how many lines a History keeps when NewHistory is given
// no limit.
const DefaultHistory = 500

// NewHistory returns an empty History that keeps the last max lines
// (DefaultHistory if max <= 0).
func NewHistory(max int) *History {
	if max <= 0 {
		max = DefaultHistory
	}
	return &History{max: max}
}

// Add records a sent line and ends any walk. Empty lines and a repeat of
// the newest line are not recorded: they would only make the walk longer.
func (h *History) Add(line string) {
	if line != "" && (len(h.lines) == 0 || h.lines[len(h.lines)-1] != line) {
		h.lines = append(h.lines, line)
		if len(h.lines) > h.max {
			h.lines = append(h.lines[:0], h.lines[len(h.lines)-h.max:]...)
		}
	}
	h.Reset()
}

// Reset ends a walk: the next Prev starts again from the newest line.
func (h *History) Reset() {
	h.pos, h.draft = len(h.lines), ""
}

// Prev returns the line before the one shown; current is what the input
// holds now, kept as the draft when the walk starts. It reports false at
// the oldest line.
func (h *History) Prev(current string) (string, bool) {
	if h.pos == 0 {
		return "", false
	}
	if h.pos == len(h.lines) {
		h.draft = current
	}
	h.pos--
	return h.lines[h.pos], true
}

// Next returns the line after the one shown, and the draft after the
// newest line. It reports false when no walk is under way.
func (h *History) Next() (string, bool) {
	if h.pos >= len(h.lines) {
		return "", false
	}
	h.pos++
	if h.pos == len(h.lines) {
		return h.draft, true
	}
	return h.lines[h.pos], true
}

// Len is the number of lines recorded.
func (h *History) Len() int { return len(h.lines) }
