package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/cmd/udpchat/tui"
	"github.com/udpchat/udpchat/config"
)

// isTerminal reports whether f is a terminal, which decides between the
// terminal UI and plain mode.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(file.Fd())
}

// terminal runs the terminal UI until the user quits. The client reconnects
// by itself, so that a restarted server does not end the conversation.
func terminal(ctx context.Context, cfg config.Config, servers []target, log *slog.Logger, stdin io.Reader, stdout io.Writer) error {
	if err := tui.CheckTheme(cfg.Client.Theme); err != nil {
		return errors.New("client.theme: " + err.Error())
	}
	// Key pins are news for the screen: they join the engine's events.
	notices := make(chan client.Event, 4)
	tickets, ticket := openTickets(cfg.Client.StateDir, cfg.Client.Nick, servers[0].addr, log)
	defer tickets.flush(log)
	c, err := newClient(cfg, servers, log, true, ticket, func(msg string) {
		select {
		case notices <- client.NoticeEvent{Text: msg}:
		default: // the screen is behind; the log has it
		}
		log.Info(msg)
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()

	events := make(chan client.Event)
	uiCtx, stopForward := context.WithCancel(ctx)
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		// Offsets of a busy room are written at most every offsetEvery;
		// the last ones wait for the next tick, not for the next message.
		flush := time.NewTicker(offsetEvery)
		defer flush.Stop()
		for {
			var e client.Event
			select {
			case e = <-c.Events():
				tickets.keep(e, log)
			case e = <-notices:
			case <-flush.C:
				tickets.flush(log)
				continue
			case <-uiCtx.Done():
				return
			}
			select {
			case events <- e:
			case <-uiCtx.Done():
				return
			}
		}
	}()
	uiErr := tui.Run(uiCtx, c, events, tui.Options{
		Server: servers[0].addr.String(), Nick: cfg.Client.Nick, Theme: cfg.Client.Theme, Bell: cfg.Client.Bell,
	}, stdin, stdout)
	stopForward()
	<-forwarded
	cancel() // the client says BYE
	for {
		select {
		case e := <-c.Events(): // the client waits for a reader; nobody else is left
			tickets.keep(e, log)
		case err := <-runErr:
			return errors.Join(uiErr, err)
		}
	}
}
