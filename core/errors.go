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
	// ErrVersion means a suite cannot speak the protocol version a peer
	// answered in.
	ErrVersion = errors.New("protocol version not supported by the suite")
	// ErrClosed means the engine has been closed.
	ErrClosed = errors.New("closed")
)
