package core

import "context"

// Bots are members of the room that a handler (such as a plugin) speaks
// for: /who lists them, a private message to one goes to its handler, and
// a handler may add slash commands, which /help lists after the server's
// own. The server learns of them through BotSource, an optional capability
// of a RoomObserver, so that it knows nothing of what serves them.

// BotSource is what a RoomObserver implements to bring bots and commands
// into the room. The server asks each observer once, when it is made, and
// refuses to start if a name is taken twice, is not a valid nickname (a
// bot), or is a built-in command's (a command).
type BotSource interface {
	Bots() BotSet
}

// BotSet is what one BotSource brings.
type BotSet struct {
	// Owner names the source in errors and logs: a plugin's name.
	Owner    string
	Members  []Bot
	Commands []BotCommand
}

// Bot is one member a source speaks for.
type Bot struct {
	Name string
	// Mail handles a private message to the bot (Kind KindPrivate, To the
	// bot's name), in place of the room: a *Rejection's reason is told to
	// the sender; the handler answers, if at all, by posting to m.From.
	Mail Handler
}

// BotCommand is a slash command a source runs.
type BotCommand struct {
	// Name is the command with its "/", as typed: "/roll".
	Name string
	// Usage is /help's line for it.
	Usage string
	// Run runs it for the user from, with the text after the name
	// (trimmed). It answers, if at all, by posting; an error is the
	// source's failure, and the user is told the command failed.
	Run func(ctx context.Context, from, args string) error
}
