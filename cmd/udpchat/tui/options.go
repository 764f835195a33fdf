package tui

import (
	"fmt"
	"os"
	"time"
)

// Options configures the UI.
type Options struct {
	// Server is the server's address, for the status line: the first one
	// tried. The engine's StateEvents name the one it is on after that.
	Server string
	// Nick is the nickname asked for. The server's answer (version 2)
	// replaces it; it is what mentions are looked for.
	Nick string
	// Theme is ThemeColor, ThemeMono, or "" for colour unless the NO_COLOR
	// environment variable is set (https://no-color.org).
	Theme string
	// Bell rings the terminal bell when a message mentions your nickname or
	// is addressed to you alone. /bell turns it on and off.
	Bell bool
	// Now is the clock, for timestamps; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Theme names.
const (
	ThemeColor = "color"
	ThemeMono  = "mono"
)

// CheckTheme says why name is not a theme, or returns nil: "" (automatic),
// ThemeColor or ThemeMono. A program checks its flag with it before it
// starts the UI.
func CheckTheme(name string) error {
	switch name {
	case "", ThemeColor, ThemeMono:
		return nil
	}
	return fmt.Errorf("unknown theme %q: want %s or %s", name, ThemeColor, ThemeMono)
}

// themeName resolves "" to the theme NO_COLOR asks for. An explicit choice
// wins over NO_COLOR, as its specification asks of command-line options.
func themeName(name string) string {
	if name == "" {
		if os.Getenv("NO_COLOR") != "" {
			return ThemeMono
		}
		return ThemeColor
	}
	return name
}
