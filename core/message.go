package core

import "time"

// MessageKind says what a Message is, so clients can show it for what it is.
type MessageKind uint8

// Message kinds.
const (
	KindChat   MessageKind = iota // a line someone typed, for the room
	KindSystem                    // a notice from the server
	KindError                     // something the server refused, for its sender only
)

var kindNames = [...]string{KindChat: "chat", KindSystem: "system", KindError: "error"}

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
// plaintext of a DATA, understood.
type Message struct {
	Kind MessageKind
	// From is the sender's display name: its ip:port in protocol version 1.
	From string
	Text string
	Time time.Time
	// Origin identifies the sending session on the server (0 for the server's
	// own messages), so fan-out can skip the sender.
	Origin uint64
}

// V1Text is the plaintext protocol version 1 carries for m: "<sender> text".
func (m *Message) V1Text() string { return "<" + m.From + "> " + m.Text }

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
