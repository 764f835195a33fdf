package core

import (
	"context"
	"errors"
)

// Handler handles a chat message on its way to the room. Handlers form a
// chain, in the spirit of CoreDNS plugins: each may change the message, pass
// it to the next, or stop it by returning an error. The last handler of the
// server's chain delivers the message to the room.
type Handler interface {
	HandleMessage(ctx context.Context, m *Message) error
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(ctx context.Context, m *Message) error

// HandleMessage calls f(ctx, m).
func (f HandlerFunc) HandleMessage(ctx context.Context, m *Message) error { return f(ctx, m) }

// Middleware wraps a Handler in another.
type Middleware func(next Handler) Handler

// Chain returns final wrapped in mw, so that mw[0] sees a message first.
func Chain(final Handler, mw ...Middleware) Handler {
	h := final
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// Rejection is the error a handler returns to refuse a message; the server
// tells the sender its Reason.
type Rejection struct {
	Reason string
}

func (r *Rejection) Error() string { return "rejected: " + r.Reason }

// RejectionReason returns the reason of a Rejection in err's chain.
func RejectionReason(err error) (string, bool) {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Reason, true
	}
	return "", false
}
