package client

import "github.com/udpchat/udpchat/core"

// Advertised is the window a client whose receiver is recv advertises
// while queued events wait for its application.
func Advertised(recv core.Receiver, queued int) (uint32, bool) {
	c := &Client{events: make(chan Event, 256), recv: recv}
	for range queued {
		c.events <- RTTEvent{}
	}
	return c.advertised()
}
