package sdk

import (
	"context"
	"slices"
	"time"
)

// Handler decides the messages of the room. OnMessage sees chat, action
// and private messages, one at a time in practice, though a plugin must not
// rely on it: room events and posts of its own may run at the same time.
//
// An error from OnMessage is a failure, like a crash or a timeout: the
// server applies the plugin's policy (pass the message, or refuse it) and
// logs it. Refusing a message on purpose is Reject, not an error.
type Handler interface {
	OnMessage(ctx context.Context, m Message) (Verdict, error)
}

// RoomEventHandler is a Handler that also hears of joins, leaves and
// renames. Events arrive asynchronously, may be dropped when the plugin
// falls behind, and have no answer.
type RoomEventHandler interface {
	OnRoomEvent(ctx context.Context, e RoomEvent)
}

// Configurer is a Handler that takes its configuration (the plugin's
// "config" map in the server's YAML) and the Host, before any message. An
// error stops the plugin from starting, and the server says why.
type Configurer interface {
	Configure(cfg map[string]string, host Host) error
}

// BotHandler is a Handler that speaks for bots: members of the room that
// /who lists, each named like a nickname. A private message to one of them
// comes to OnMessage (Kind KindPrivate, To the bot's name) whether or not
// the plugin's configuration passes it private messages, and the replies
// of its verdict come from that bot. Its names are read once, as the
// server starts; a name another plugin or a user may not share is refused
// there, and the server does not start.
type BotHandler interface {
	Bots() []string
}

// Commander is a Handler with slash commands of its own, which /help lists
// after the server's. The server reads Commands once, as it starts, and
// refuses to start if a name is a built-in command's (/nick, /msg...) or
// another plugin's.
type Commander interface {
	Commands() []Command
	// OnCommand runs one of them. The text it returns ("" for none) goes to
	// the caller only, from the plugin; to answer the room, Post. An error
	// is a failure: the caller is told the command failed.
	OnCommand(ctx context.Context, c Call) (string, error)
}

// Command is a slash command: Name without its "/" ("roll"), a letter then
// letters, digits, '-' or '_', at most 16; Usage is /help's line for it.
type Command struct {
	Name  string
	Usage string
}

// Call is a command someone typed.
type Call struct {
	Command string // its name, without the "/"
	From    string // who typed it
	Args    string // the text after the name, trimmed
	Time    time.Time
}

// Store is the plugin's own key-value store, which the server keeps in its
// data directory, across restarts of the plugin and of the server. It is
// small: at most 1024 keys, 256 bytes a key, 64 KiB a value, 1 MiB in all;
// a Set past a bound fails with an error that says which, and changes
// nothing. A server without a data directory fails every call.
type Store interface {
	// Get returns key's value, and whether the store holds key.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	Set(ctx context.Context, key string, value []byte) error
	// Delete removes key; a key not held is no error.
	Delete(ctx context.Context, key string) error
}

// Host is the server, as a plugin reaches it. Its methods may be called from
// any goroutine at any time after Configure, also from inside OnMessage.
type Host interface {
	// Post says text in the room as the plugin: to everyone, or only to the
	// nickname to if it is not empty. Posts do not go through the handler
	// chain, so no plugin sees them, this one included.
	Post(ctx context.Context, text, to string) error
	// Users lists who is in the room.
	Users(ctx context.Context) ([]User, error)
	// Log writes to the server's log under the plugin's name; level is
	// "debug", "info", "warn" or "error", attrs are key-value pairs as in
	// log/slog.
	Log(level, msg string, attrs ...any)
	// Store is the plugin's key-value store.
	Store
}

// Message kinds, as Message.Kind has them.
const (
	KindChat    = "chat"    // a line someone typed, for the room
	KindAction  = "action"  // "/me waves"
	KindPrivate = "private" // "/msg bob hi": for To only
)

// Message is a message on its way to the room.
type Message struct {
	Kind string // KindChat, KindAction or KindPrivate
	ID   uint64
	From string
	To   string // the recipient of a private message
	Text string
	Time time.Time
}

// Room event kinds, as RoomEvent.Kind has them.
const (
	EventJoin   = "join"
	EventLeave  = "leave"
	EventRename = "rename"
)

// RoomEvent is a change in who is in the room.
type RoomEvent struct {
	Kind    string // EventJoin, EventLeave or EventRename
	Name    string
	NewName string // after a rename
	Why     string // of a leave: "left", "timed out"
	Time    time.Time
}

// User is someone in the room.
type User struct {
	Name    string
	Idle    time.Duration
	Version int  // the protocol version of their client
	Bot     bool // a plugin's bot (BotHandler): never idle, no client
}

// Action is what a Verdict does with the message.
type Action int

// Actions, numbered as in the protocol.
const (
	ActionPass    Action = iota // deliver it as it is
	ActionReplace               // deliver it with Verdict.Text instead
	ActionReject                // refuse it; the sender is told Verdict.Reason
	ActionDrop                  // deliver it to nobody, and tell nobody
)

// Recipient says to whom a Reply goes.
type Recipient int

// Recipients, numbered as in the protocol.
const (
	ToSender   Recipient = iota // privately, to whoever sent the message
	ToEveryone                  // to the room, even when answering a private message
)

// Reply is a message the server posts as the plugin, after the message it
// answers has been delivered (or dropped).
type Reply struct {
	To   Recipient
	Text string
}

// Verdict is what becomes of a message. Build one with Pass, Replace,
// Reject or Drop, and add replies with WithReply. Texts must be valid UTF-8
// without control characters, or the server treats the verdict as a
// failure.
type Verdict struct {
	Action  Action
	Text    string // the new text, for ActionReplace
	Reason  string // for ActionReject; "" for the server's default
	Replies []Reply
}

// Pass delivers the message as it is.
func Pass() Verdict { return Verdict{Action: ActionPass} }

// Replace delivers the message with text instead of its own.
func Replace(text string) Verdict { return Verdict{Action: ActionReplace, Text: text} }

// Reject refuses the message and tells its sender reason.
func Reject(reason string) Verdict { return Verdict{Action: ActionReject, Reason: reason} }

// Drop delivers the message to nobody, silently: its sender believes it
// sent. Replies are still posted.
func Drop() Verdict { return Verdict{Action: ActionDrop} }

// WithReply returns v with a reply added. A rejected message's replies are
// not posted: its reason is the answer.
func (v Verdict) WithReply(to Recipient, text string) Verdict {
	v.Replies = append(slices.Clip(v.Replies), Reply{To: to, Text: text})
	return v
}
