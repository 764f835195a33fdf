package seed

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
)

// This file holds the per-message HMAC-SHA256 of the suite. crypto/hmac
// allocates two SHA-256 states and the padded key on every hmac.New, and a
// keyed hmac.Hash is not safe for concurrent use, so it cannot simply be kept
// per session. Instead each session keeps, per MAC key, the SHA-256 states
// after the key's inner and outer pad blocks (what FIPS 198-1, section 6,
// allows precomputing "at the time of generation of the key"), and every
// message borrows two bare SHA-256 states from a pool shared by all sessions
// and starts them from those. The result is HMAC-SHA256 exactly (the tests
// check it against crypto/hmac and the seed's vectors); the pooled states
// hold no key material between messages, since they are reset before they
// go back.

// sha256State is a SHA-256 whose state can be saved and restored.
type sha256State interface {
	hash.Hash
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

func newSHA256() (sha256State, error) {
	h, ok := sha256.New().(sha256State)
	if !ok {
		return nil, errors.New("SHA-256 state cannot be saved")
	}
	return h, nil
}

// macKey is an HMAC-SHA256 key, as the saved SHA-256 states after its
// inner and outer pad blocks. They are as secret as the key itself. Nothing
// writes them after newMACKey.
type macKey struct {
	inner, outer []byte
}

// newMACKey precomputes the HMAC-SHA256 states of key (RFC 2104: K0 is the key
// zero-padded to the block size, or its hash if it is longer).
func newMACKey(key []byte) (*macKey, error) {
	var k0, pad [sha256.BlockSize]byte
	defer clear(k0[:])
	defer clear(pad[:])
	if len(key) > sha256.BlockSize {
		sum := sha256.Sum256(key)
		copy(k0[:], sum[:])
		clear(sum[:])
	} else {
		copy(k0[:], key)
	}
	h, err := newSHA256()
	if err != nil {
		return nil, err
	}
	var states [2][]byte
	for i, p := range [2]byte{0x36, 0x5c} {
		for j := range pad {
			pad[j] = k0[j] ^ p
		}
		h.Reset()
		h.Write(pad[:])
		if states[i], err = h.MarshalBinary(); err != nil {
			return nil, err
		}
	}
	h.Reset()
	return &macKey{inner: states[0], outer: states[1]}, nil
}

// mac is one HMAC-SHA256 computation in progress, borrowed from macPool by
// startMAC and returned by done.
type mac struct {
	key          *macKey
	inner, outer sha256State
	sum          [sha256.Size]byte
	adLen        [adLenSize]byte // here, not on the stack, which Write would make escape
}

var macPool = sync.Pool{New: func() any {
	inner, err := newSHA256()
	if err != nil {
		return err
	}
	outer, err := newSHA256()
	if err != nil {
		return err
	}
	return &mac{inner: inner, outer: outer}
}}

// startMAC returns an HMAC-SHA256 under key that has already taken in what
// precedes IV || CT: nothing in version 1, uint64be(len(ad)) || ad in version
// 2. The length prefix makes the split between ad and IV unambiguous. The
// caller must call done.
func startMAC(key *macKey, bindAD bool, ad []byte) (*mac, error) {
	m, ok := macPool.Get().(*mac)
	if !ok {
		return nil, errors.New("SHA-256 state cannot be saved")
	}
	m.key = key
	if err := m.inner.UnmarshalBinary(key.inner); err != nil {
		m.done()
		return nil, err
	}
	if bindAD {
		binary.BigEndian.PutUint64(m.adLen[:], uint64(len(ad)))
		m.inner.Write(m.adLen[:])
		m.inner.Write(ad)
	}
	return m, nil
}

// write takes in more of the message.
func (m *mac) write(b []byte) { m.inner.Write(b) }

// tag finishes the HMAC and returns it, in m's own memory: it is valid until
// done.
func (m *mac) tag() ([]byte, error) {
	m.inner.Sum(m.sum[:0])
	if err := m.outer.UnmarshalBinary(m.key.outer); err != nil {
		return nil, err
	}
	m.outer.Write(m.sum[:])
	return m.outer.Sum(m.sum[:0]), nil
}

// verify finishes the HMAC and compares it with tag in constant time.
func (m *mac) verify(tag []byte) (bool, error) {
	sum, err := m.tag()
	if err != nil {
		return false, err
	}
	return hmac.Equal(tag, sum), nil
}

// done wipes m (the outer state it holds is the key's) and returns it to the
// pool.
func (m *mac) done() {
	m.inner.Reset()
	m.outer.Reset()
	clear(m.sum[:])
	m.key = nil
	macPool.Put(m)
}
