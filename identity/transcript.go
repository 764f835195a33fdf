package identity

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// transcriptContext starts every handshake transcript, so that a signature
// over one can never be mistaken for a signature over anything else the
// server's key might sign.
const transcriptContext = "udpchat v2 handshake\x00"

// ErrBadSignature is wrapped by every error Verify returns: the server's
// signature does not match the handshake as the client saw it (a forged or
// altered handshake, or the wrong key).
var ErrBadSignature = errors.New("bad server signature on handshake")

// Transcript is what the server signs in a version 2 handshake: everything
// both sides said and agreed, so that an attacker cannot alter any of it (say,
// strip the better suites from the offer) without the client noticing.
type Transcript struct {
	// Hello is the KEY_REQ payload, as the client sent it.
	Hello []byte
	// Reply is the KEY_REP payload (the suite's reply, not the signature).
	Reply []byte
	// Suites is the client's offer in the KEY_REQ, in its order.
	Suites []string
	// Nick is the nickname in the KEY_REQ.
	Nick string
	// Suite is the server's choice in the KEY_REP.
	Suite string
	// SessionID is the session id the server assigned.
	SessionID uint64
	// ServerKey is the server's Ed25519 public key as sent in the KEY_REP.
	// Sign and Verify fill it in from their key when it is empty.
	ServerKey ed25519.PublicKey
}

// HandshakeTranscript returns the bytes that Sign signs and Verify checks for
// t. The encoding is unambiguous (no two transcripts give the same bytes) and
// fixed:
//
//	"udpchat v2 handshake\x00"            context, 21 bytes
//	len(Hello) Hello
//	len(Reply) Reply
//	len(Suites) then, per suite, len(s) s
//	len(Nick) Nick
//	len(Suite) Suite
//	SessionID                             8 bytes
//	len(ServerKey) ServerKey
//
// where every len is a uint32 and every number is big-endian. A nil and an
// empty field (or Suites) encode the same. It panics if a field is longer
// than 4 GiB, which no datagram can carry.
func HandshakeTranscript(t Transcript) []byte {
	n := len(transcriptContext) + 4 + len(t.Hello) + 4 + len(t.Reply) + 4
	for _, s := range t.Suites {
		n += 4 + len(s)
	}
	n += 4 + len(t.Nick) + 4 + len(t.Suite) + 8 + 4 + len(t.ServerKey)

	b := make([]byte, 0, n)
	b = append(b, transcriptContext...)
	b = appendField(b, t.Hello)
	b = appendField(b, t.Reply)
	b = appendLen(b, len(t.Suites))
	for _, s := range t.Suites {
		b = appendField(b, s)
	}
	b = appendField(b, t.Nick)
	b = appendField(b, t.Suite)
	b = binary.BigEndian.AppendUint64(b, t.SessionID)
	b = appendField(b, t.ServerKey)
	return b
}

// appendField appends f to b, prefixed with its length.
func appendField[T ~string | ~[]byte](b []byte, f T) []byte {
	return append(appendLen(b, len(f)), f...)
}

// appendLen appends n as a big-endian uint32.
func appendLen(b []byte, n int) []byte {
	if uint64(n) > math.MaxUint32 {
		panic(fmt.Sprintf("identity: handshake transcript field of %d bytes", n))
	}
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// Sign returns the server's Ed25519 signature of HandshakeTranscript(t). If
// t.ServerKey is empty, priv's public key is used. priv must be a valid
// Ed25519 private key (ed25519.Sign panics otherwise); LoadOrCreate returns one.
func Sign(priv ed25519.PrivateKey, t Transcript) []byte {
	if len(t.ServerKey) == 0 {
		t.ServerKey = priv.Public().(ed25519.PublicKey)
	}
	return ed25519.Sign(priv, HandshakeTranscript(t))
}

// Verify checks that sig is pub's signature of HandshakeTranscript(t). If
// t.ServerKey is empty, pub is used; if it is set, it must equal pub. Every
// error it returns wraps ErrBadSignature.
func Verify(pub ed25519.PublicKey, t Transcript, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: server key is %d bytes, want %d", ErrBadSignature, len(pub), ed25519.PublicKeySize)
	}
	if len(t.ServerKey) == 0 {
		t.ServerKey = pub
	} else if !bytes.Equal(t.ServerKey, pub) {
		return fmt.Errorf("%w: transcript names a different server key", ErrBadSignature)
	}
	if !ed25519.Verify(pub, HandshakeTranscript(t), sig) {
		return ErrBadSignature
	}
	return nil
}
