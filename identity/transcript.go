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
	// ClientKey is the client's Ed25519 public key from the KEY_REQ, which
	// its hello signature proved (SignHello); empty for a client without
	// one. Signed by the server, so that both sides agree on whose the
	// session is: a man in the middle cannot put his key in its place.
	ClientKey ed25519.PublicKey
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
//	len(ClientKey) ClientKey              only if ClientKey is not empty
//
// where every len is a uint32 and every number is big-endian. A nil and an
// empty field (or Suites) encode the same. The ClientKey comes last and
// only when there is one, so that the transcript of a client without a key
// is byte for byte what it was before clients had keys, and still
// unambiguous: the length-prefixed ServerKey ends it or is followed by
// exactly one more field. It panics if a field is longer than 4 GiB, which
// no datagram can carry.
func HandshakeTranscript(t Transcript) []byte {
	n := len(transcriptContext) + 4 + len(t.Hello) + 4 + len(t.Reply) + 4
	for _, s := range t.Suites {
		n += 4 + len(s)
	}
	n += 4 + len(t.Nick) + 4 + len(t.Suite) + 8 + 4 + len(t.ServerKey) + 4 + len(t.ClientKey)

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
	if len(t.ClientKey) > 0 {
		b = appendField(b, t.ClientKey)
	}
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

// helloContext starts every client hello transcript: a client's signature
// can never pass for a server's (transcriptContext), nor the other way.
const helloContext = "udpchat v2 client hello\x00"

// ErrBadClientSignature is wrapped by every error VerifyHello returns: the
// client did not prove the key its KEY_REQ carries.
var ErrBadClientSignature = errors.New("bad client signature on KEY_REQ")

// HelloTranscript returns what a version 2 client signs with its own key
// in its KEY_REQ (SignHello): its half of the handshake, everything it
// says before the server answers:
//
//	"udpchat v2 client hello\x00"         context, 24 bytes
//	len(Hello) Hello
//	len(Suites) then, per suite, len(s) s
//	len(Nick) Nick
//	len(ClientKey) ClientKey
//
// in HandshakeTranscript's encoding. The hello is the suite's ephemeral
// key-exchange share, drawn afresh for each handshake: the signature
// binds the client's long-term key to keys only the holder of that
// share's private half can derive, so a KEY_REQ replayed by someone else
// gets a session nobody but the client can use, and the server acts on
// the key only once the session proves it holds those keys (confirm).
// The server's signature over HandshakeTranscript then names ClientKey
// too, so that the client knows the server saw its key, not another.
func HelloTranscript(t Transcript) []byte {
	n := len(helloContext) + 4 + len(t.Hello) + 4
	for _, s := range t.Suites {
		n += 4 + len(s)
	}
	n += 4 + len(t.Nick) + 4 + len(t.ClientKey)
	b := make([]byte, 0, n)
	b = append(b, helloContext...)
	b = appendField(b, t.Hello)
	b = appendLen(b, len(t.Suites))
	for _, s := range t.Suites {
		b = appendField(b, s)
	}
	b = appendField(b, t.Nick)
	return appendField(b, t.ClientKey)
}

// SignHello returns the client's Ed25519 signature of HelloTranscript(t),
// t.ClientKey set to priv's public key (whatever it held).
func SignHello(priv ed25519.PrivateKey, t Transcript) []byte {
	t.ClientKey = priv.Public().(ed25519.PublicKey)
	return ed25519.Sign(priv, HelloTranscript(t))
}

// VerifyHello checks that sig is t.ClientKey's signature of
// HelloTranscript(t). Every error it returns wraps ErrBadClientSignature.
func VerifyHello(t Transcript, sig []byte) error {
	if len(t.ClientKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: client key is %d bytes, want %d", ErrBadClientSignature, len(t.ClientKey), ed25519.PublicKeySize)
	}
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is %d bytes, want %d", ErrBadClientSignature, len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(t.ClientKey, HelloTranscript(t), sig) {
		return ErrBadClientSignature
	}
	return nil
}
