package modern

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/udpchat/udpchat/core"
)

// Name is the name the suite is registered, configured and negotiated under.
const Name = "x25519-chacha20poly1305"

// PointSize is the length of a reply, and of the key a hello starts with:
// an X25519 public key.
const PointSize = 32

// HelloSize is the length of a hello: the client's key, then zeros. A
// server must not answer a KEY_REQ with more bytes than it got, since its
// address may be spoofed, and a KEY_REP carries a signature and a key; the
// padding makes the KEY_REQ larger than its answer, as QUIC pads its first
// packet.
const HelloSize = 384

func init() {
	core.Suites.Register(Name, Suite{})
}

// Suite is the modern cipher suite. The zero value is ready to use and, having
// no state, safe for concurrent use.
type Suite struct{}

var _ core.Suite = Suite{}

// Name returns [Name].
func (Suite) Name() string { return Name }

// Overhead is how many bytes Seal adds to any plaintext: 8 of counter and 16

var _ core.MinVersioner = Suite{}

// MinVersion is 2: a seed peer cannot speak this suite.
func (Suite) MinVersion() uint8 { return 2 }

// of Poly1305 tag.
func (Suite) Overhead(int) int { return overhead }

// NewInitiator generates the client's ephemeral X25519 key from random (nil
// means crypto/rand). Since Go 1.26 crypto/ecdh ignores random unless
// GODEBUG=cryptocustomrand=1 and always uses a secure source.
func (Suite) NewInitiator(random io.Reader) (core.Initiator, error) {
	priv, err := ecdh.X25519().GenerateKey(orDefault(random))
	if err != nil {
		return nil, fmt.Errorf("cipher/modern: generating the X25519 key: %w", err)
	}
	hello := make([]byte, HelloSize)
	copy(hello, priv.PublicKey().Bytes())
	return &initiator{priv: priv, hello: hello}, nil
}

// Respond checks the client's X25519 public key, generates a fresh ephemeral
// server key for this session alone, and returns its public key as the reply
// with the server's side of the session. Only protocol version 2 is spoken.
// The server's private key is not kept: once Respond returns, nothing can
// recompute the session's keys.
func (Suite) Respond(random io.Reader, hello []byte, hs core.Handshake) ([]byte, core.SessionKeys, error) {
	if err := checkVersion(hs); err != nil {
		return nil, nil, fmt.Errorf("cipher/modern: respond: %w", err)
	}
	if len(hello) != HelloSize {
		return nil, nil, fmt.Errorf("cipher/modern: respond: hello of %d bytes, need %d (a key and padding)", len(hello), HelloSize)
	}
	peer, err := parsePoint("hello", hello[:PointSize])
	if err != nil {
		return nil, nil, fmt.Errorf("cipher/modern: respond: %w", err)
	}
	priv, err := ecdh.X25519().GenerateKey(orDefault(random))
	if err != nil {
		return nil, nil, fmt.Errorf("cipher/modern: respond: generating the X25519 key: %w", err)
	}
	reply := priv.PublicKey().Bytes()
	shared, err := priv.ECDH(peer)
	if err != nil {
		// crypto/ecdh refuses a low-order point, whose shared secret is all zeros.
		return nil, nil, fmt.Errorf("cipher/modern: respond: hello is not a usable X25519 key: %w", err)
	}
	defer clear(shared)
	keys, err := deriveKeys(hs, shared, hello, reply, true)
	if err != nil {
		return nil, nil, fmt.Errorf("cipher/modern: respond: %w", err)
	}
	return reply, keys, nil
}

// initiator is the client's side of the handshake. Hello may be called from
// any goroutine; Finish takes a mutex because a successful Finish drops the
// private key.
type initiator struct {
	mu    sync.Mutex
	priv  *ecdh.PrivateKey // nil after a successful Finish
	hello []byte           // never written after construction
}

// Hello returns a copy of the client's public key, so a caller that
// scribbles on it cannot change what later retries send.
func (in *initiator) Hello() []byte { return bytes.Clone(in.hello) }

// Finish computes the shared secret with the server's ephemeral key (the
// reply) and returns the client's side of the session. A reply that is not a
// usable X25519 key wraps core.ErrAuth: anyone on path can send a KEY_REP,
// and the client should drop a bogus one and keep waiting. So the private key
// is dropped only on success; after that, Finish fails.
//
// Dropping is all Go allows: crypto/ecdh keeps the scalar unexported and
// offers no way to zero it, so the memory stays until the garbage collector
// reuses it.
func (in *initiator) Finish(reply []byte, hs core.Handshake) (core.SessionKeys, error) {
	if err := checkVersion(hs); err != nil {
		return nil, fmt.Errorf("cipher/modern: finish: %w", err)
	}
	peer, err := parsePoint("reply", reply)
	if err != nil {
		return nil, fmt.Errorf("cipher/modern: finish: %w: %w", err, core.ErrAuth)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.priv == nil {
		return nil, errors.New("cipher/modern: finish: handshake already finished, its key is gone")
	}
	shared, err := in.priv.ECDH(peer)
	if err != nil {
		return nil, fmt.Errorf("cipher/modern: finish: reply is not a usable X25519 key (%v): %w", err, core.ErrAuth)
	}
	defer clear(shared)
	keys, err := deriveKeys(hs, shared, in.hello, reply, false)
	if err != nil {
		return nil, fmt.Errorf("cipher/modern: finish: %w", err)
	}
	in.priv = nil
	return keys, nil
}

// checkVersion refuses anything but protocol version 2, before any work is
// done.
func checkVersion(hs core.Handshake) error {
	if hs.Version != 2 {
		return fmt.Errorf("protocol version %d not supported: %s needs protocol version 2 (a seed peer cannot speak it)",
			hs.Version, Name)
	}
	return nil
}

// parsePoint checks the length of an X25519 public key. crypto/ecdh accepts
// any 32 bytes here; low-order points are caught by ECDH, which refuses an
// all-zero shared secret.
func parsePoint(what string, b []byte) (*ecdh.PublicKey, error) {
	if len(b) != PointSize {
		return nil, fmt.Errorf("%s of %d bytes, need a %d-byte X25519 public key", what, len(b), PointSize)
	}
	pub, err := ecdh.X25519().NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s is not an X25519 public key: %w", what, err)
	}
	return pub, nil
}

func orDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
