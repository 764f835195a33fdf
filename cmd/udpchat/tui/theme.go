package tui

import (
	"hash/fnv"
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"
)

// theme is every style the UI draws with. The colour theme uses the 256
// colour palette, which Bubble Tea brings down to what the terminal has; the
// mono theme uses only attributes (bold, faint, italic, underline, reverse),
// which survive NO_COLOR and a monochrome terminal.
type theme struct {
	name string

	time, text, own, action, private      lipgloss.Style
	system, errorLine, notice, local      lipgloss.Style
	history, divider, command, mention    lipgloss.Style
	pending, delivered, failed            lipgloss.Style
	status, stateOK, stateBusy, stateBad  lipgloss.Style
	marker, prompt, placeholder           lipgloss.Style
	bar, barActive, barUnread, barMention lipgloss.Style

	// nickBase styles other people's names; palette, when set, gives each
	// name its own colour.
	nickBase lipgloss.Style
	palette  []color.Color
}

// nickPalette are colours that read on dark and light backgrounds alike,
// and that differ enough from each other and from the line styles.
var nickPalette = []string{"39", "208", "42", "170", "214", "45", "203", "141", "76", "33", "178", "168"}

func newTheme(name string) theme {
	if name == ThemeMono {
		return monoTheme()
	}
	return colorTheme()
}

func colorTheme() theme {
	s := lipgloss.NewStyle
	c := lipgloss.Color
	t := theme{
		name:        ThemeColor,
		time:        s().Foreground(c("244")),
		text:        s(),
		own:         s().Bold(true).Foreground(c("231")),
		action:      s().Italic(true).Foreground(c("177")),
		private:     s().Foreground(c("213")),
		system:      s().Foreground(c("179")),
		errorLine:   s().Bold(true).Foreground(c("203")),
		notice:      s().Foreground(c("214")),
		local:       s().Foreground(c("110")),
		history:     s().Faint(true),
		divider:     s().Foreground(c("240")),
		command:     s().Foreground(c("110")),
		mention:     s().Bold(true).Foreground(c("16")).Background(c("220")),
		pending:     s().Foreground(c("244")),
		delivered:   s().Foreground(c("42")),
		failed:      s().Bold(true).Foreground(c("203")),
		status:      s().Foreground(c("252")).Background(c("236")),
		stateOK:     s().Foreground(c("42")),
		stateBusy:   s().Foreground(c("214")),
		stateBad:    s().Bold(true).Foreground(c("203")),
		marker:      s().Foreground(c("16")).Background(c("214")),
		prompt:      s().Bold(true).Foreground(c("39")),
		placeholder: s().Foreground(c("240")),
		bar:         s().Foreground(c("250")).Background(c("235")),
		barActive:   s().Bold(true).Foreground(c("231")).Background(c("25")),
		barUnread:   s().Bold(true).Foreground(c("214")).Background(c("235")),
		barMention:  s().Bold(true).Foreground(c("16")).Background(c("220")),
		nickBase:    s().Bold(true),
	}
	for _, p := range nickPalette {
		t.palette = append(t.palette, c(p))
	}
	return t
}

func monoTheme() theme {
	s := lipgloss.NewStyle
	return theme{
		name:        ThemeMono,
		time:        s().Faint(true),
		text:        s(),
		own:         s().Bold(true).Underline(true),
		action:      s().Italic(true),
		private:     s().Italic(true),
		system:      s().Faint(true),
		errorLine:   s().Bold(true),
		notice:      s().Bold(true),
		local:       s().Faint(true),
		history:     s().Faint(true),
		divider:     s().Faint(true),
		command:     s().Faint(true),
		mention:     s().Reverse(true),
		pending:     s().Faint(true),
		delivered:   s(),
		failed:      s().Bold(true),
		status:      s().Reverse(true),
		stateOK:     s(),
		stateBusy:   s(),
		stateBad:    s().Bold(true),
		marker:      s().Reverse(true).Bold(true),
		prompt:      s().Bold(true),
		placeholder: s().Faint(true),
		bar:         s(),
		barActive:   s().Reverse(true),
		barUnread:   s().Bold(true),
		barMention:  s().Bold(true).Underline(true),
		nickBase:    s().Bold(true),
	}
}

// nick is the style of a sender's name: the same colour for the same name
// every time, in every session, whatever its case, because the colour comes
// from a hash of the name as the server compares names.
func (t theme) nick(name string, own bool) lipgloss.Style {
	if own {
		return t.own
	}
	if len(t.palette) == 0 {
		return t.nickBase
	}
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(name)))
	return t.nickBase.Foreground(t.palette[h.Sum32()%uint32(len(t.palette))])
}
