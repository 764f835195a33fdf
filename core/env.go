package core

import (
	"crypto/rand"
	"io"
	"log/slog"
	"time"
)

// Env is what an engine takes from its surroundings rather than from the
// world directly, so that tests can give it a log to read, a reader of
// chosen bytes, or a clock of their own.
type Env struct {
	Logger *slog.Logger     // default: discard
	Rand   io.Reader        // default: crypto/rand
	Now    func() time.Time // default: time.Now
}

// WithDefaults returns e with its unset fields set to their defaults.
func (e Env) WithDefaults() Env {
	if e.Logger == nil {
		e.Logger = slog.New(slog.DiscardHandler)
	}
	if e.Rand == nil {
		e.Rand = rand.Reader
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	return e
}
