package core

import "io"

// Suite is a cipher suite: how a client and the server agree on session keys
// (the KEY_REQ/KEY_REP payloads) and how a session then seals and opens
// messages. Implementations must be safe for concurrent use; the SessionKeys
// they return are used by one session at a time.
type Suite interface {
	// Name is the name the suite is registered, configured and negotiated under.
	Name() string
	// NewInitiator starts a client handshake, drawing keys from rand.
	NewInitiator(rand io.Reader) (Initiator, error)
	// Respond answers a client's hello (a KEY_REQ payload) with the reply
	// (the KEY_REP payload) and the server's side of the new session.
	Respond(rand io.Reader, hello []byte) (reply []byte, keys SessionKeys, err error)
	// Overhead is how many bytes a session's Seal adds to n bytes of plaintext,
	// so that engines can tell, before a session exists, what fits in a datagram.
	Overhead(n int) int
}

// Initiator is the client's side of a handshake in progress.
type Initiator interface {
	// Hello is the KEY_REQ payload. It is the same on every call, so that a
	// retried KEY_REQ is recognisably the same request.
	Hello() []byte
	// Finish opens the server's reply and returns the client's side of the session.
	Finish(reply []byte) (SessionKeys, error)
}

// SessionKeys seals and opens the messages of one session.
//
// ad is data the seal authenticates without encrypting: the packet header.
// Suites whose construction cannot bind it (the seed's, in protocol version 1)
// ignore it; the engines then defend against replays themselves.
type SessionKeys interface {
	// Seal appends the sealed form of plaintext to dst.
	Seal(dst, plaintext, ad []byte) ([]byte, error)
	// Open appends the plaintext of sealed to dst, or fails, with an error
	// matching ErrAuth when the message is not authentic.
	Open(dst, sealed, ad []byte) ([]byte, error)
	// Tag returns an identifier of sealed, unique per sealing (the MAC tag), which
	// the engine remembers to refuse replays where the suite does not bind the
	// header. It returns nil where the suite binds the header itself.
	Tag(sealed []byte) []byte
}

// Suites maps suite names to implementations.
var Suites = NewRegistry[Suite]("suite")
