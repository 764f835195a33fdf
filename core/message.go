package core

import (
	"slices"
	"time"
)

// MessageKind says what a Message is, so clients can show it for what it is.
type MessageKind uint8

// Message kinds.
const (
	KindChat    MessageKind = iota // a line someone typed, for the room
	KindSystem                     // a notice from the server
	KindError                      // something the server refused, for its sender only
	KindAction                     // "/me waves": an action, for the room
	KindPrivate                    // "/msg bob hi": for one recipient only
	KindHistory                    // a chat message from before the recipient joined
	// KindSession is the server's first message to a version 2 session, for
	// the client engine, not its user: ID is the room log's epoch and Text
	// the session's resume token, in hex (see Resume).
	KindSession
)

var kindNames = [...]string{
	KindChat: "chat", KindSystem: "system", KindError: "error",
	KindAction: "action", KindPrivate: "private", KindHistory: "history",
	KindSession: "session",
}

// ParseMessageKind maps a kind's name to the kind.
func ParseMessageKind(s string) (MessageKind, bool) {
	for i, n := range kindNames {
		if n == s {
			return MessageKind(i), true
		}
	}
	return 0, false
}

// String returns the kind's name.
func (k MessageKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// SystemSender is the sender name of the server's own notices. In protocol
// version 1 they arrive as "<server> text", which no ip:port sender can produce.
const SystemSender = "server"

// Message is a chat message as the handler chain and the clients see it: the
// plaintext of a DATA, understood. Version 2 peers exchange it whole,
// encoded by the session's codec (MessageCodec); version 1 peers see only
// V1Text.
type Message struct {
	Kind MessageKind
	// ID is, on a message of the room (chat, action, history, the
	// server's announcements), its offset in the room's log, which a
	// client remembers to resume from and to never show a message twice;
	// on a KindSession message, the log's epoch; 0 on a message for one
	// recipient (private, error, notice), which is not in the log.
	ID uint64
	// From is the sender's display name: its nickname, or its ip:port.
	From string
	// To is the recipient of a private message.
	To string
	// Room is the channel a message of a room belongs to ("#name"), and
	// empty for the lobby and for a message for one recipient (see
	// CheckChannel).
	Room string
	Text string
	Time time.Time
	// Origin identifies the sending session on the server (0 for the server's
	// own messages), so fan-out can skip the sender. It never goes on the wire.
	Origin uint64
}

// MessageCodec encodes the structured inner message of version 2. The codec
// a session speaks implements it beside Codec.
type MessageCodec interface {
	AppendMessage(dst []byte, m *Message) ([]byte, error)
	DecodeMessage(b []byte) (*Message, error)
}

// MaxBundle bounds the messages one bundle may hold, so that a peer cannot
// make its receiver build an unbounded list from one datagram.
const MaxBundle = 256

// MaxBundleOverhead bounds the bytes AppendBundled may add to a bundle
// beside the message itself, so that the server can tell whether a message
// still fits in the bundle it is gathering before it builds it.
const MaxBundleOverhead = 16

// Bundler is implemented by a MessageCodec that can carry several messages
// in the plaintext of one version 2 DATA. The server bundles the messages
// that wait for a recipient while its reliability layer has no room in
// flight: stop-and-wait then delivers a burst in one round trip instead of
// one round trip per message. A plaintext holding one message is never a
// bundle, so a DATA that carries one reads the same either way.
type Bundler interface {
	// AppendBundled returns bundle, the plaintext of a bundle of the
	// messages before (nil for none), with m, one message as AppendMessage
	// encodes it, added at its end, at most MaxBundleOverhead bytes more
	// than len(bundle)+len(m). It may reuse bundle's storage.
	AppendBundled(bundle, m []byte) []byte
	// DecodeMessages decodes b, one message (as DecodeMessage does) or a
	// bundle of 1 to MaxBundle messages, and appends them to dst in order.
	// A bundle inside a bundle is refused, as is an empty one; on error
	// dst comes back as it was.
	DecodeMessages(dst []*Message, b []byte) ([]*Message, error)
}

// V1Text is the plaintext protocol version 1 carries for m: "<sender> text",
// with what version 1 cannot say otherwise written into the text.
func (m *Message) V1Text() string { return string(m.AppendV1Text(nil)) }

// AppendV1Text appends m's V1Text to dst: a server makes it once for every
// seed client, without the string.
func (m *Message) AppendV1Text(dst []byte) []byte {
	dst = slices.Grow(dst, len(m.Room)+len(m.From)+len(m.Text)+len("[] <> [history 15:04] "))
	if m.Room != "" {
		// A seed client in a channel tells its lines apart by this.
		dst = append(append(append(dst, '['), m.Room...), "] "...)
	}
	switch m.Kind {
	case KindAction:
		dst = append(append(append(append(dst, "* "...), m.From...), ' '), m.Text...)
		return dst
	case KindPrivate:
		dst = append(append(append(dst, '<'), m.From...), "> [private] "...)
	case KindHistory:
		dst = append(append(append(dst, '<'), m.From...), "> [history "...)
		dst = append(m.Time.UTC().AppendFormat(dst, "15:04"), "] "...)
	default:
		dst = append(append(append(dst, '<'), m.From...), "> "...)
	}
	return append(dst, m.Text...)
}

// ParseV1Text splits a version 1 plaintext "<sender> text" into its parts. A
// plaintext not in that form is returned whole as text with no sender.
func ParseV1Text(s string) (from, text string) {
	if len(s) > 0 && s[0] == '<' {
		for i := 1; i < len(s); i++ {
			if s[i] == '>' {
				if i+1 < len(s) && s[i+1] == ' ' {
					return s[1:i], s[i+2:]
				}
				if i+1 == len(s) {
					return s[1:i], ""
				}
				break
			}
		}
	}
	return "", s
}
