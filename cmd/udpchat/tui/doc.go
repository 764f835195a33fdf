// Package tui is udpchat's terminal user interface, built with Bubble Tea:
// a scrolling message view with scrollback for the lobby and for each
// channel the user is in, a bar that lists them and marks those with
// unread lines, an input line with history and tab completion, and a
// status line that says where the session stands.
//
// The model never touches the network. It asks a [Chat] (a *client.Client in
// the program) to send lines, and learns everything else from the engine's
// events, which [Run] feeds into the program as [EventMsg]s. Tests drive the
// model the same way, with a fake Chat and hand-made events.
package tui
