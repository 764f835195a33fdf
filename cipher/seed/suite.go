package seed

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"github.com/udpchat/udpchat/core"
)

// Name is the name the suite is registered, configured and negotiated under.
const Name = "rsa-aes-cbc-hmac"

const (
	// clientKeyBits is what the seed's client generates.
	clientKeyBits = 2048
	// minKeyBits refuses the weak keys the seed accepts (it takes 512 bits).
	minKeyBits = 2048
	// maxKeyBits bounds the server's work per KEY_REQ: an RSA public
	// operation grows with the square of the modulus, and a 4096-byte
	// datagram could carry a modulus of about 16000 bits, handed to us by
	// anyone, unauthenticated; version 1 is never asked for a cookie first.
	// An 8192-bit modulus with a large exponent cost 17 times a normal
	// KEY_REQ (issue 15); 4096 bits with e = 65537 cost about 4 times, and
	// no client generates more.
	maxKeyBits = 4096
	// maxExponent bounds the other factor of that work (a square and
	// multiply per exponent bit): 65537 is what every RSA library,
	// pycryptodome and crypto/rsa included, generates, and a larger one
	// buys a client nothing.
	maxExponent = 65537
)

func init() {
	core.Suites.Register(Name, Suite{})
}

// Suite is the seed's cipher suite. The zero value is ready to use and, having
// no state, safe for concurrent use.
type Suite struct{}

var _ core.Suite = Suite{}

// Name returns [Name].
func (Suite) Name() string { return Name }

// Overhead is how many bytes Seal adds to n bytes of plaintext: 32 of tag, 16
// of IV and 1 to 16 of padding, so 49 to 64. It depends on n because PKCS#7
// pads to a whole block. Versions 1 and 2 have the same layout, so the same
// overhead.
func (Suite) Overhead(n int) int { return overhead(n) }

// NewInitiator generates the client's RSA-2048 key. Since Go 1.26 crypto/rsa
// ignores rand for key generation (unless GODEBUG=cryptocustomrand=1) and
// always uses a secure source; tests that want a fixed key use
// [NewInitiatorFromKey].
func (Suite) NewInitiator(random io.Reader) (core.Initiator, error) {
	priv, err := rsa.GenerateKey(orDefault(random), clientKeyBits)
	if err != nil {
		return nil, fmt.Errorf("cipher/seed: generating the RSA key: %w", err)
	}
	return NewInitiatorFromKey(priv)
}

// Respond parses the client's PEM public key, draws a fresh 16-byte session
// key from rand and returns it wrapped with RSA-OAEP (SHA-1, MGF1-SHA-1, empty
// label) for that public key, with the server's side of the session: in
// version 1 (or 0) the seed's construction under that key, in version 2 the
// keys derived from it, hs.SessionID, hello (exactly as received) and the
// reply, as doc.go describes. Any other version is refused.
//
// The hello comes from an unauthenticated datagram, so everything about it is
// checked before any RSA work is done.
func (Suite) Respond(random io.Reader, hello []byte, hs core.Handshake) ([]byte, core.SessionKeys, error) {
	if err := checkVersion(hs); err != nil {
		return nil, nil, fmt.Errorf("cipher/seed: respond: %w", err)
	}
	pub, err := parsePublicKey(hello)
	if err != nil {
		return nil, nil, fmt.Errorf("cipher/seed: respond: %w", err)
	}
	random = orDefault(random)
	key := make([]byte, keySize)
	defer clear(key)
	if _, err := io.ReadFull(random, key); err != nil {
		return nil, nil, fmt.Errorf("cipher/seed: respond: drawing the session key: %w", err)
	}
	reply, err := rsa.EncryptOAEP(sha1.New(), random, pub, key, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("cipher/seed: respond: wrapping the session key: %w", err)
	}
	keys, err := sessionKeysFor(hs, key, hello, reply, true)
	if err != nil {
		return nil, nil, fmt.Errorf("cipher/seed: respond: %w", err)
	}
	return reply, keys, nil
}

// parsePublicKey accepts exactly one PEM block, optionally surrounded by
// whitespace. pem.Decode alone would skip leading junk and leave trailing
// junk unread; being strict keeps one key from having many spellings.
func parsePublicKey(hello []byte) (*rsa.PublicKey, error) {
	trimmed := bytes.TrimLeft(hello, " \t\r\n")
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN ")) {
		return nil, errors.New("hello is not a PEM block")
	}
	block, rest := pem.Decode(trimmed)
	if block == nil {
		return nil, errors.New("hello is not a valid PEM block")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%d bytes of trailing data after the PEM block", len(bytes.TrimSpace(rest)))
	}
	if len(block.Headers) != 0 {
		return nil, errors.New("PEM block has headers (encrypted or unexpected)")
	}

	var pub *rsa.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing the public key: %w", err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key is %T, not RSA", k)
		}
		pub = rk
	case "RSA PUBLIC KEY":
		// PKCS#1, as OpenSSL's -RSAPublicKey_out writes it. The seed never
		// sends it, but taking it costs nothing: the same checks follow.
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing the public key: %w", err)
		}
		pub = k
	default:
		return nil, fmt.Errorf("PEM block of type %q, need \"PUBLIC KEY\"", block.Type)
	}

	if bits := pub.N.BitLen(); bits < minKeyBits {
		return nil, fmt.Errorf("key of %d bits, need at least %d", bits, minKeyBits)
	} else if bits > maxKeyBits {
		return nil, fmt.Errorf("key of %d bits, more than the %d allowed", bits, maxKeyBits)
	}
	if pub.N.Bit(0) == 0 {
		return nil, errors.New("modulus is even")
	}
	if pub.E < 3 || pub.E > maxExponent || pub.E%2 == 0 {
		return nil, fmt.Errorf("public exponent %d, need an odd number from 3 to %d", pub.E, maxExponent)
	}
	return pub, nil
}

func orDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
