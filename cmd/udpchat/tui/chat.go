package tui

import (
	"context"

	"github.com/udpchat/udpchat/client"
)

// Chat is what the UI needs of the chat engine: *client.Client has it. Keeping
// it this small keeps the model free of the network, so that tests can drive
// it with a fake.
type Chat interface {
	// SendIn queues text, said in channel ch (core.Lobby for the lobby),
	// for the server and returns the ID that later DeliveredEvents and
	// FailedEvents name. It may block while the engine's queue is full,
	// so the UI calls it off the update loop.
	SendIn(ctx context.Context, ch, text string) (uint64, error)
	// CheckText says why text cannot be sent, or returns nil.
	CheckText(text string) error
}

var _ Chat = (*client.Client)(nil)

// EventMsg carries one engine event into the Bubble Tea program. Run sends
// one per event; a program run some other way sends them with
// Program.Send.
type EventMsg struct{ Event client.Event }
