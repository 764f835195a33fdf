package server

import (
	"context"
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/udpchat/udpchat/core"
)

// RateLimit is a token bucket: Burst at once, then Rate a second. Its zero
// value is no limit, as 0 is in the configuration file: a limit is on only
// when Rate is above 0, and then Burst must be at least 1.
type RateLimit struct {
	Rate  float64
	Burst int
}

// On reports whether the limit limits anything.
func (l RateLimit) On() bool { return l.Rate > 0 }

// check says what is wrong with l, naming it as what.
func (l RateLimit) check(what string) error {
	switch {
	case l.Rate < 0:
		return fmt.Errorf("server: %s: a negative rate (%g); 0 turns the limit off", what, l.Rate)
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
// readers' terminals.
func checkText(next core.Handler) core.Handler {
	return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
		switch {
		case !utf8.ValidString(m.Text):
			return &core.Rejection{Reason: "message is not valid UTF-8"}
		case hasControl(m.Text):
			return &core.Rejection{Reason: "message contains control characters"}
		}
		return next.HandleMessage(ctx, m)
	})
}

// hasControl reports whether s holds a control character other than tab.
func hasControl(s string) bool {
	for _, r := range s {
		if r != '\t' && unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// rateLimit refuses a session's messages beyond its token bucket
// (Config.RateLimit), before any command or plugin spends work on them.
func (s *Server) rateLimit(next core.Handler) core.Handler {
	refusal := &core.Rejection{Reason: fmt.Sprintf("slow down: at most %d messages at once, then %g a second",
		s.cfg.RateLimit.Burst, s.cfg.RateLimit.Rate)}
	return core.HandlerFunc(func(ctx context.Context, m *core.Message) error {
		if sess := s.sessions.id(m.Origin); sess != nil && sess.limiter != nil && !sess.limiter.AllowN(m.Time, 1) {
			return refusal
		}
		return next.HandleMessage(ctx, m)
	})
}
