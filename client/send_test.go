package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
)

// TestClientRefusesTooLong: the client refuses, at once and with a clear
// error, a text whose broadcast could not fit in a datagram.
func TestClientRefusesTooLong(t *testing.T) {
	room := chattest.Start(t, chattest.Options{})
	c, other := room.Join(), room.Join()
	longest := 0
	for c.CheckText(strings.Repeat("y", longest+1)) == nil {
		longest++
	}
	if longest < 2500 {
		t.Fatalf("only %d bytes of text fit", longest)
	}
	_, err := c.Send(t.Context(), strings.Repeat("x", longest+1))
	if !errors.Is(err, core.ErrTooLong) || !strings.Contains(err.Error(), "message too long") {
		t.Fatalf("Send of %d bytes: %v, want message too long", longest+1, err)
	}
	c.WaitDelivered(c.Say(strings.Repeat("y", longest)))
	if got := other.WaitChat(1)[0].Text; len(got) != longest {
		t.Fatalf("the longest text arrived as %d bytes, want %d", len(got), longest)
	}
}
