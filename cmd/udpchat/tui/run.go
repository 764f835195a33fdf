package tui

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"

	tea "charm.land/bubbletea/v2"

	"github.com/udpchat/udpchat/client"
)

// Run runs the UI on in and out until the user quits (/quit or Ctrl+C) or
// ctx is done, feeding it events, and restores the terminal before it
// returns. It returns nil then, and an error only if the terminal could not
// be driven.
//
// Run stops reading events when it returns; a caller whose engine is still
// running must go on reading them (a client.Client waits for its reader), or
// stop the engine first.
func Run(ctx context.Context, chat Chat, events <-chan client.Event, opts Options, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := New(chat, opts)
	m.ctx = ctx // a Send blocked on a full queue ends with the UI

	p := tea.NewProgram(m,
		tea.WithInput(in),
		tea.WithOutput(out),
		tea.WithEnvironment(environ(opts.Theme)),
		// The caller owns the signals (the client cancels ctx on SIGINT
		// and SIGTERM); in the terminal's raw mode Ctrl+C is a key.
		tea.WithoutSignalHandler(),
		// The size when out is not a terminal; a terminal's own wins.
		tea.WithWindowSize(80, 24),
	)

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // before the Wait: it ends both goroutines
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-events:
				if !ok {
					return
				}
				// Send returns at once once the program has ended.
				p.Send(EventMsg{e})
			}
		}
	})
	wg.Go(func() {
		<-ctx.Done()
		p.Quit() // a no-op if the program has already ended
	})

	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// environ is the environment the program sees. An explicit colour theme
// overrides NO_COLOR, as its specification asks of a command-line choice,
// so the terminal's colour profile is detected without it.
func environ(theme string) []string {
	env := os.Environ()
	if theme != ThemeColor {
		return env
	}
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "NO_COLOR=") {
			out = append(out, kv)
		}
	}
	return out
}
