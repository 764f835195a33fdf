package server

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/termsafe"
)

// RateLimit is a token bucket: Burst at once, then Rate a second. Its zero
// value is no limit, as 0 is in the configuration file: a limit is on only
// when Rate is above 0, and then Burst must be at least 1.
type RateLimit struct {
	Rate  float64
	Burst int
	// MaxLag is the longest a session's message may wait for the limit
	// (Config.RateLimit; the handshake limit has no use for it). Over its
	// rate, a session's messages are delayed, not refused, as an IRC
	// server's "fakelag" does: a pasted paragraph arrives whole, just
	// slower. Only a message that would wait longer than this is refused.
	// Zero is what 0s is in the configuration file: no wait, every message
	// over the rate refused at once.
	MaxLag time.Duration
}

// On reports whether the limit limits anything.
func (l RateLimit) On() bool { return l.Rate > 0 }

// check says what is wrong with l, naming it as what.
func (l RateLimit) check(what string) error {
	switch {
	case l.Rate < 0:
		return fmt.Errorf("server: %s: a negative rate (%g); 0 turns the limit off", what, l.Rate)
	case l.MaxLag < 0:
		return fmt.Errorf("server: %s: a negative longest wait (%v); 0 refuses at once what is over the rate", what, l.MaxLag)
	case l.On() && l.Burst < 1:
		return fmt.Errorf("server: %s: a rate of %g a second needs a burst of at least 1, got %d", what, l.Rate, l.Burst)
	}
	return nil
}

// limit is the rate.Limit of l: infinite when the limit is off.
func (l RateLimit) limit() rate.Limit {
	if !l.On() {
		return rate.Inf
	}
	return rate.Limit(l.Rate)
}

// checkText is the first handler of the chain: it refuses text that no
// reader should be sent. An escape sequence in a message would drive the
// readers' terminals; a bidirectional override, a line separator or an
// invisible character would change or hide what they read. termsafe
// says which characters, class by class: the clients' display rule is
// its other half.
func checkText(next core.Handler) core.Handler {
	return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
		if why := termsafe.Refusal(m.Text); why != "" {
			return &core.Rejection{Reason: why}
		}
		return next.HandleMessage(ctx, m)
	})
}
