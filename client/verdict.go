package client

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/udpchat/udpchat/core"
)

// handshakeFailed gives up on the handshake with the server at hand, for
// the reason verdict gives. The client moves to the next server, or tries
// this one again after a wait (Reconnect), and says so with a
// HandshakeFailedEvent; with nowhere left to go it returns the verdict
// (every server's, when it knows several) for Run to end with.
func (c *Client) handshakeFailed(ctx context.Context, verdict error) error {
	c.verdicts[c.current.Load()] = verdict
	c.log.Warn("handshake failed", "server", c.server().String(), "verdict", verdict)
	if !c.canMove() && !c.cfg.Reconnect {
		if len(c.servers) > 1 {
			return unanswered(slices.Clone(c.verdicts))
		}
		return verdict
	}
	// The wait grows with each handshake given up on, so that a client
	// whose every server refuses at once does not go round them at once.
	c.failedHandshakes++
	next, wait := c.server(), c.backoff(c.failedHandshakes)
	if c.canMove() {
		next = c.servers[c.nextServer()]
		if c.tried < len(c.servers) {
			wait = 0 // not tried since the client was last connected
		}
	}
	c.emit(ctx, HandshakeFailedEvent{Server: c.server(), Err: verdict, Next: next, Retry: wait})
	if c.canMove() {
		return c.move(ctx, verdict.Error(), wait)
	}
	// Begun again, as a move begins one: a new initiator and no cookie of
	// the last, which a loaded server would no longer take.
	st := c.state
	err := c.startHandshake(ctx, wait)
	c.state = st
	return err
}

// noAnswer is the verdict on a handshake whose retries ran out: what was
// tried, and what silence likely means.
func (c *Client) noAnswer() error {
	codec, suite := c.cfg.Codec.Name(), c.cfg.Suite.Name()
	versions := "protocol 2 or 1"
	switch {
	case c.msgCodec == nil:
		versions = "protocol 1"
	case c.cfg.RequireV2:
		versions = "protocol 2"
	}
	sent := "KEY_REQs"
	if c.hsTries == 1 {
		sent = "KEY_REQ"
	}
	causes := fmt.Sprintf("the server is down or a firewall drops UDP, or it speaks another codec than %s, or lacks suite %s", codec, suite)
	if mv, ok := c.cfg.Suite.(core.MinVersioner); ok && mv.MinVersion() > 1 {
		causes += fmt.Sprintf(", or it is a seed (version 1) server: suite %s needs protocol version %d", suite, mv.MinVersion())
	}
	var over time.Duration // as scheduled: the verdict reads the same each time
	for i := range c.hsTries {
		over += c.backoff(i)
	}
	return fmt.Errorf("%w %s after %d %s over %v (%s, codec %s, suite %s): likely %s",
		ErrNoAnswer, c.server(), c.hsTries, sent, over, versions, codec, suite, causes)
}

// unreachableVerdict is the verdict on a handshake whose last KEY_REQ
// drew the ICMP error r.
func (c *Client) unreachableVerdict(r icmpReport) error {
	if r.err == syscall.ECONNREFUSED {
		return fmt.Errorf("%w at %s (UDP): KEY_REQ %d of %d drew an ICMP port unreachable (%w): the server is not running, or not on that port",
			ErrNothingListens, r.to, c.hsTries, c.cfg.HandshakeRetries+1, r.err)
	}
	return fmt.Errorf("%w %s (UDP): KEY_REQ %d of %d drew an ICMP error: %w", ErrUnreachable, r.to, c.hsTries, c.cfg.HandshakeRetries+1, r.err)
}

// unanswered is the verdict once every server has failed the client: each
// one's, in the order of the list. It matches ErrNoAnswer, and each.
type unanswered []error

func (u unanswered) Error() string {
	var texts []string
	for _, err := range u {
		if err != nil {
			texts = append(texts, err.Error())
		}
	}
	return ErrNoAnswer.Error() + ": every server was tried: " + strings.Join(texts, "; ")
}

func (u unanswered) Unwrap() []error {
	errs := []error{ErrNoAnswer}
	for _, err := range u {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
