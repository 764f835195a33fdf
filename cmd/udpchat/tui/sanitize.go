package tui

import "github.com/charmbracelet/x/ansi"

// Text from the network is made safe to draw by termsafe.Line, the one
// place plain mode uses too.

// truncate cuts s, which may be styled, to width cells.
func truncate(s string, width int) string {
	return ansi.Truncate(s, width, "")
}
