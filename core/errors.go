package core

import "errors"

// Sentinel errors shared by the layers, for errors.Is.
var (
	// ErrAuth means a sealed payload failed authentication: wrong key, altered
	// bytes, or a header it was not sealed for.
	ErrAuth = errors.New("message authentication failed")
	// ErrReplay means an authentic payload was seen before in this session.
	ErrReplay = errors.New("replayed payload")
	// ErrTooLong means a message does not fit in one datagram.
	ErrTooLong = errors.New("message too long")
	// ErrClosed means the engine has been closed.
	ErrClosed = errors.New("closed")
)
