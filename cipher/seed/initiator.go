package seed

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/udpchat/udpchat/core"
)

// initiator is the client's side of the handshake. It is immutable once
// built, so Hello and Finish may be called from any goroutine, any number of
// times (a retried KEY_REQ, a duplicated KEY_REP).
type initiator struct {
	priv  *rsa.PrivateKey
	hello []byte
}

// NewInitiatorFromKey starts a client handshake with an existing RSA key, so
// that tests and load tools need not pay for key generation each time. The
// key must be at least 2048 bits, as [Suite.Respond] demands of its peers.
func NewInitiatorFromKey(priv *rsa.PrivateKey) (core.Initiator, error) {
	if priv == nil {
		return nil, errors.New("cipher/seed: nil RSA key")
	}
	if bits := priv.N.BitLen(); bits < minKeyBits || bits > maxKeyBits {
		return nil, fmt.Errorf("cipher/seed: key of %d bits, need %d to %d", bits, minKeyBits, maxKeyBits)
	}
	if err := priv.Validate(); err != nil {
		return nil, fmt.Errorf("cipher/seed: invalid RSA key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("cipher/seed: encoding the public key: %w", err)
	}
	// pycryptodome's export_key ends at "-----END PUBLIC KEY-----" while
	// pem.EncodeToMemory adds a newline; the seed's KEY_REQ has none, and a
	// byte-identical hello is what makes our KEY_REQ indistinguishable from
	// the seed's.
	hello := bytes.TrimSuffix(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), []byte("\n"))
	return &initiator{priv: priv, hello: hello}, nil
}

// Hello returns a copy, so a caller that scribbles on it cannot change what
// later retries send.
func (in *initiator) Hello() []byte { return bytes.Clone(in.hello) }

// Finish unwraps the session key and returns the client's side of the
// session for the version in hs (see [Suite.Respond]); any version but 0, 1
// and 2 is refused. A failure to decrypt wraps core.ErrAuth: anyone on path
// can send a KEY_REP, and the client should drop a bogus one and keep waiting
// for the real one rather than give up.
func (in *initiator) Finish(reply []byte, hs core.Handshake) (core.SessionKeys, error) {
	if err := checkVersion(hs); err != nil {
		return nil, fmt.Errorf("cipher/seed: finish: %w", err)
	}
	if len(reply) != in.priv.Size() {
		return nil, fmt.Errorf("cipher/seed: finish: reply of %d bytes, need %d: %w", len(reply), in.priv.Size(), core.ErrAuth)
	}
	key, err := rsa.DecryptOAEP(sha1.New(), nil, in.priv, reply, nil)
	if err != nil {
		return nil, fmt.Errorf("cipher/seed: finish: cannot unwrap the session key (%v): %w", err, core.ErrAuth)
	}
	defer clear(key)
	if len(key) != keySize {
		return nil, fmt.Errorf("cipher/seed: finish: session key of %d bytes, need %d", len(key), keySize)
	}
	keys, err := sessionKeysFor(hs, key, in.hello, reply, false)
	if err != nil {
		return nil, fmt.Errorf("cipher/seed: finish: %w", err)
	}
	return keys, nil
}
