package core

import (
	"fmt"
	"strings"
)

// Channels. A channel is a room of its own, with its own log: "#name" to
// users and on the wire, "name" to the room log (CheckRoom), so a channel
// name has at most MaxRoom characters after its '#', lowercase ASCII
// letters, digits, '-' and '_'. The lobby is the channel everyone is in
// from the start; its messages carry no channel on the wire (Message.Room
// is empty), as they did before channels, so a client that knows nothing
// of channels reads the lobby as it always did.
const (
	// Lobby is the lobby's channel name, as users name it.
	Lobby = "#lobby"
	// LobbyRoom is the lobby's room in the room log.
	LobbyRoom = "lobby"
	// MaxChannel is the longest channel name, '#' included.
	MaxChannel = MaxRoom + 1
)

// ParseChannel reads a channel name a user typed: "#Go" and "go" are both
// "#go", since channel names are compared folded, like nicknames. It says
// what is wrong with a name it refuses, in words fit for a notice.
func ParseChannel(s string) (string, error) {
	name := strings.ToLower(strings.TrimPrefix(s, "#"))
	if name == "" {
		return "", fmt.Errorf("a channel name cannot be empty")
	}
	if len(name) > MaxRoom {
		return "", fmt.Errorf("a channel name has at most %d characters after its '#'", MaxRoom)
	}
	if err := CheckRoom(name); err != nil {
		return "", fmt.Errorf("a channel name has only letters, digits, '-' and '_', starting with a letter or a digit")
	}
	return "#" + name, nil
}

// CheckChannel says why ch cannot be a message's Room, or returns nil: the
// empty string or a channel name as ParseChannel returns it. The server
// writes the lobby's messages with no room; a client names the lobby
// Lobby, since no room from a client means its current channel.
func CheckChannel(ch string) error {
	if ch == "" {
		return nil
	}
	if p, err := ParseChannel(ch); err != nil || p != ch {
		return fmt.Errorf("room %q is not a channel name (#, then 1 to %d lowercase letters, digits, '-' or '_')", ch, MaxRoom)
	}
	return nil
}

// ChannelRoom is the room log's name for channel ch (Lobby or "" for the
// lobby).
func ChannelRoom(ch string) string {
	if ch == "" || ch == Lobby {
		return LobbyRoom
	}
	return strings.TrimPrefix(ch, "#")
}
