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
	// (the KEY_REP payload) and the server's side of the new session, keyed
	// for the protocol version and session in hs.
	Respond(rand io.Reader, hello []byte, hs Handshake) (reply []byte, keys SessionKeys, err error)
	// Overhead is how many bytes a session's Seal adds to n bytes of plaintext,
	// so that engines can tell, before a session exists, what fits in a datagram.
	Overhead(n int) int
}

// MinVersioner is implemented by a suite that needs a protocol version above
// 1. A seed server cannot even parse its hello, so it never answers; the
// client can then say why, rather than only that no answer came.
type MinVersioner interface {
	MinVersion() uint8
}

// Initiator is the client's side of a handshake in progress.
type Initiator interface {
	// Hello is the KEY_REQ payload. It is the same on every call, so that a
	// retried KEY_REQ is recognisably the same request.
	Hello() []byte
	// Finish opens the server's reply and returns the client's side of the
	// session, keyed for the protocol version and session in hs (which the
	// client learns from the KEY_REP).
	Finish(reply []byte, hs Handshake) (SessionKeys, error)
}

// Handshake is what a suite needs to know, beyond the payloads, to key a
// session.
type Handshake struct {
	// Version 1 is the seed's construction: one key for everything, the
	// header not bound. Version 2 derives separate encryption and MAC keys per
	// direction with HKDF-SHA256 from the handshake secret, the session id and
	// both payloads, and binds the associated data into every seal.
	Version uint8
	// SessionID is the version 2 session id; it salts the key derivation.
	SessionID uint64
}

// SessionKeys seals and opens the messages of one session. In version 2 the
// keys are directional: what the server seals only the client opens, and the
// other way round, so a payload cannot be reflected back to its sender.
//
// ad is data the seal authenticates without encrypting: the packet header
// (Packet.AD). The seed's version 1 construction cannot bind it and ignores
// it; the engines then defend against replays themselves.
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

// Eraser is an optional capability of SessionKeys: Erase overwrites the key
// material, so that a recorded session cannot be decrypted with what is
// left in memory once it is over. The server erases a session's keys when
// the session ends.
type Eraser interface {
	Erase()
}
