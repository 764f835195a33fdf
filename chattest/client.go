package chattest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
)

// Client is a running client.Client whose events are recorded for the test.
type Client struct {
	*client.Client
	t    testing.TB
	Addr netip.AddrPort // the client's own address

	cancel context.CancelFunc
	done   chan struct{}
	runErr error
	// drained is closed once collect has taken in every event the client
	// reported before it ended.
	drained chan struct{}

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every event
	messages  []core.Message
	notices   []string
	rtts      int
	delivered map[uint64]bool
	failed    map[uint64]error
	refused   map[uint64]string
	states    []client.ConnState
	name      string
	info      client.SessionInfo
	ticket    client.Ticket
}

// Name is how the server names the client to others: its nickname in
// version 2, its address in version 1 and until it is connected. It
// changes if the client connects again under another name.
func (c *Client) Name() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.name
}

// WaitTicket waits for the client's resume ticket (client.TicketEvent) and
// returns the latest, for another client to resume its session with
// (client.Config.Resume).
func (c *Client) WaitTicket() client.Ticket {
	c.t.Helper()
	c.waitFor("a resume ticket", func() bool { return c.ticket.Valid() })
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ticket
}

// Info is the client's session, once connected: the latest, if it has
// connected more than once.
func (c *Client) Info() client.SessionInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info
}

func (c *Client) collect(ctx context.Context) {
	defer close(c.drained)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			// What the client reported as it ended (a BYE's reason) is
			// taken in before waiters are told it ended.
			for {
				select {
				case e := <-c.Events():
					c.take(e)
				default:
					return
				}
			}
		case e := <-c.Events():
			c.take(e)
		}
	}
}

// take records the event e.
func (c *Client) take(e client.Event) {
	c.mu.Lock()
	switch e := e.(type) {
	case client.MessageEvent:
		c.messages = append(c.messages, e.Message)
	case client.DeliveredEvent:
		if c.delivered == nil {
			c.delivered = map[uint64]bool{}
		}
		c.delivered[e.ID] = true
	case client.RefusedEvent:
		if c.refused == nil {
			c.refused = map[uint64]string{}
		}
		c.refused[e.ID] = e.Reason
	case client.FailedEvent:
		if c.failed == nil {
			c.failed = map[uint64]error{}
		}
		c.failed[e.ID] = e.Err
	case client.StateEvent:
		c.states = append(c.states, e.State)
		if e.Info != nil {
			c.info = *e.Info
			c.name = c.Addr.String()
			if e.Info.Nick != "" {
				c.name = e.Info.Nick
			}
		}
	case client.TicketEvent:
		c.ticket = e.Ticket
	case client.NoticeEvent:
		c.notices = append(c.notices, e.Text)
	case client.RTTEvent:
		c.rtts++
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// waitFor waits until cond, called with c.mu held, is true.
func (c *Client) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok, ch := cond(), c.changed
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-c.drained:
			c.mu.Lock()
			ok = cond()
			c.mu.Unlock()
			if !ok {
				c.t.Fatalf("%s: client %s ended (%v) before %s", c.t.Name(), c.Name(), c.runErr, what)
			}
			return
		case <-deadline.C:
			c.t.Fatalf("client %s: timed out after %v waiting for %s", c.Name(), Timeout, what)
		}
	}
}

// Say sends text and returns its ID.
func (c *Client) Say(text string) uint64 {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	id, err := c.Send(ctx, text)
	if err != nil {
		c.t.Fatalf("client %s: send: %v", c.Name(), err)
	}
	return id
}

// SayIn sends text in channel ch (client.SendIn) and returns its ID.
func (c *Client) SayIn(ch, text string) uint64 {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	id, err := c.SendIn(ctx, ch, text)
	if err != nil {
		c.t.Fatalf("client %s: send in %s: %v", c.Name(), ch, err)
	}
	return id
}

// WaitState waits until the client has reported state s.
func (c *Client) WaitState(s client.ConnState) {
	c.t.Helper()
	c.waitFor("state "+s.String(), func() bool { return slices.Contains(c.states, s) })
}

// WaitStates waits until the client has reported state s at least n times.
func (c *Client) WaitStates(s client.ConnState, n int) {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("state %s %d times", s, n), func() bool {
		k := 0
		for _, got := range c.states {
			if got == s {
				k++
			}
		}
		return k >= n
	})
}

// WaitMessages waits until the client has received n messages and returns them.
func (c *Client) WaitMessages(n int) []core.Message {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("%d messages", n), func() bool { return len(c.messages) >= n })
	return c.Messages()
}

// Messages returns the messages received so far.
func (c *Client) Messages() []core.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.messages)
}

// isChat tells what people said (chat, actions, private messages) from the
// server's own notices.
func isChat(m core.Message) bool {
	return m.Kind == core.KindChat || m.Kind == core.KindAction || m.Kind == core.KindPrivate
}

// Chat returns the messages people sent, without the server's notices.
func (c *Client) Chat() []core.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []core.Message
	for _, m := range c.messages {
		if isChat(m) {
			out = append(out, m)
		}
	}
	return out
}

// WaitChat waits until the client has received n messages people sent, and
// returns them.
func (c *Client) WaitChat(n int) []core.Message {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("%d chat messages", n), func() bool {
		k := 0
		for _, m := range c.messages {
			if isChat(m) {
				k++
			}
		}
		return k >= n
	})
	return c.Chat()
}

// WaitMessage waits until a received message satisfies match, and returns it.
func (c *Client) WaitMessage(what string, match func(core.Message) bool) core.Message {
	c.t.Helper()
	var found core.Message
	c.waitFor(what, func() bool {
		for _, m := range c.messages {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// WaitUntil waits until cond holds of every message received so far, and
// returns them.
func (c *Client) WaitUntil(what string, cond func([]core.Message) bool) []core.Message {
	c.t.Helper()
	c.waitFor(what, func() bool { return cond(c.messages) })
	return c.Messages()
}

// WaitNotice waits for a NoticeEvent containing text.
func (c *Client) WaitNotice(text string) string {
	c.t.Helper()
	var found string
	c.waitFor("notice "+text, func() bool {
		for _, n := range c.notices {
			if strings.Contains(n, text) {
				found = n
				return true
			}
		}
		return false
	})
	return found
}

// Notices returns the texts of the NoticeEvents so far, in order.
func (c *Client) Notices() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.notices)
}

// WaitRTT waits until the client has measured a round trip.
func (c *Client) WaitRTT() {
	c.t.Helper()
	c.waitFor("an RTT measurement", func() bool { return c.rtts > 0 })
}

// RunErr is what Run returned, once the client has ended.
func (c *Client) RunErr() error {
	<-c.done
	return c.runErr
}

// WaitSettled waits until every id has been delivered, refused or failed,
// and returns the failures.
func (c *Client) WaitSettled(ids ...uint64) map[uint64]error {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("%d messages settled", len(ids)), func() bool {
		for _, id := range ids {
			if _, refused := c.refused[id]; !refused && !c.delivered[id] && c.failed[id] == nil {
				return false
			}
		}
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	failed := map[uint64]error{}
	for _, id := range ids {
		if err := c.failed[id]; err != nil {
			failed[id] = err
		}
	}
	return failed
}

// WaitDelivered waits until every id has been acknowledged, and fails the
// test if any was given up on. A message the server received and refused
// (RefusedEvent) counts as acknowledged here; WaitVerdict tells them apart.
func (c *Client) WaitDelivered(ids ...uint64) {
	c.t.Helper()
	if failed := c.WaitSettled(ids...); len(failed) > 0 {
		c.t.Fatalf("client %s: messages failed: %v", c.Name(), failed)
	}
}

// WaitVerdict waits until message id is settled and returns the server's
// verdict: delivered, or why it was refused, or why it failed.
func (c *Client) WaitVerdict(id uint64) (delivered bool, refused string, failed error) {
	c.t.Helper()
	c.WaitSettled(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.delivered[id], c.refused[id], c.failed[id]
}

// Settled reports, without waiting, whether message id has been
// acknowledged (delivered) or refused, and why; both zero while it waits.
func (c *Client) Settled(id uint64) (delivered bool, refused string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.delivered[id], c.refused[id]
}

// Stop stops the client and waits for it to end.
func (c *Client) Stop() {
	c.cancel()
	<-c.done
}
