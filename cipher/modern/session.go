package modern

import (
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"unsafe"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/udpchat/udpchat/core"
)

const (
	// infoPrefix starts every HKDF info string: protocol version and suite,
	// so that no other use of the same secret can derive the same keys.
	infoPrefix = "udpchat v2 " + Name + " "
	labelC2S   = "c2s"
	labelS2C   = "s2c"

	counterSize = 8
	tagSize     = chacha20poly1305.Overhead
	overhead    = counterSize + tagSize
)

// ErrErased is what Seal and Open return once [sessionKeys.Erase] has run.
var ErrErased = errors.New("cipher/modern: session keys erased")

// deriveKeys returns one side's keys: the server seals s2c and opens c2s, the
// client the reverse. See the package documentation.
func deriveKeys(hs core.Handshake, shared, hello, reply []byte, server bool) (*sessionKeys, error) {
	var salt [8]byte
	binary.BigEndian.PutUint64(salt[:], hs.SessionID)
	prk, err := hkdf.Extract(sha256.New, shared, salt[:])
	if err != nil {
		return nil, err
	}
	defer clear(prk)
	h := sha256.New()
	h.Write(hello)
	h.Write(reply)
	th := string(h.Sum(nil))

	s := new(sessionKeys)
	sealLabel, openLabel := labelC2S, labelS2C
	if server {
		sealLabel, openLabel = labelS2C, labelC2S
	}
	for _, k := range []struct {
		label string
		key   *[chacha20poly1305.KeySize]byte
		aead  *cipher.AEAD
	}{{sealLabel, &s.sealKey, &s.seal}, {openLabel, &s.openKey, &s.open}} {
		b, err := hkdf.Expand(sha256.New, prk, infoPrefix+k.label+th, chacha20poly1305.KeySize)
		if err != nil {
			return nil, err
		}
		copy(k.key[:], b)
		clear(b)
		if *k.aead, err = chacha20poly1305.New(k.key[:]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// sessionKeys is one side of a session. The mutex guards the seal counter
// and Erase; the AEADs themselves are safe for concurrent use, so Seal and
// Open hold it only long enough to take a counter or an AEAD.
type sessionKeys struct {
	mu               sync.Mutex
	sealKey, openKey [chacha20poly1305.KeySize]byte
	seal, open       cipher.AEAD // nil once erased
	next             uint64      // the counter of the next Seal
	spent            bool        // every counter has been used
}

// Seal appends uint64be(counter) || ciphertext || tag, sealed under this
// side's key with nonce 0^32 || uint64be(counter) and ad as associated data.
// Each call takes the next counter, so nonces never repeat under a key; after
// 2^64 seals it refuses to seal. dst may be plaintext[:0].
func (s *sessionKeys) Seal(dst, plaintext, ad []byte) ([]byte, error) {
	s.mu.Lock()
	aead, ctr, spent := s.seal, s.next, s.spent
	if aead != nil && !spent {
		if ctr == math.MaxUint64 {
			s.spent = true
		} else {
			s.next++
		}
	}
	s.mu.Unlock()
	switch {
	case aead == nil:
		return nil, fmt.Errorf("cipher/modern: seal: %w", ErrErased)
	case spent:
		return nil, errors.New("cipher/modern: seal: all 2^64 nonces used under this key")
	}

	ret, out := sliceForAppend(dst, counterSize+len(plaintext)+tagSize)
	body := out[counterSize:]
	// ad is read by the AEAD as it writes; if it lives in dst's spare
	// capacity, where the sealing goes, it is copied out first (rare: it is
	// the packet header, which the engine keeps elsewhere).
	if anyOverlap(out, ad) {
		ad = bytes.Clone(ad)
	}
	// The AEAD allows its output to be its input exactly or not at all.
	// Otherwise (dst is plaintext[:0], so the plaintext starts where the
	// counter goes) the plaintext is first moved to where its ciphertext
	// goes (copy handles overlap) and sealed in place.
	src := plaintext
	if anyOverlap(body, plaintext) && !sameStart(body, plaintext) {
		copy(body, plaintext)
		src = body[:len(plaintext)]
	}
	n := getNonce(ctr)
	aead.Seal(body[:0], n[:], src, ad)
	putNonce(n)
	binary.BigEndian.PutUint64(out, ctr)
	return ret, nil
}

// Open takes the counter from sealed and opens the rest under the peer's key
// and ad. Every failure of the sealing wraps core.ErrAuth. It does not track
// counters: a replay under the same header is the engine's to refuse (it has
// seen that seq), and one under another header fails here. On failure dst is
// left as it was (the AEAD zeroes what it wrote in dst's spare capacity).
//
// The plaintext goes straight into dst's spare capacity, so Open allocates
// only when dst has too little room, or when that capacity overlaps sealed
// (the in-place idiom, dst = sealed[:0], which the AEAD refuses) or ad: then
// it opens into scratch space.
func (s *sessionKeys) Open(dst, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < overhead {
		return nil, fmt.Errorf("cipher/modern: open: too short: %d bytes, need at least %d: %w", len(sealed), overhead, core.ErrAuth)
	}
	s.mu.Lock()
	aead := s.open
	s.mu.Unlock()
	if aead == nil {
		return nil, fmt.Errorf("cipher/modern: open: %w", ErrErased)
	}
	ct := sealed[counterSize:]
	n := getNonce(binary.BigEndian.Uint64(sealed))
	defer putNonce(n)
	ptLen := len(ct) - tagSize
	if cap(dst)-len(dst) < ptLen || !anyOverlap(dst[len(dst):len(dst)+ptLen], ct) && !anyOverlap(dst[len(dst):len(dst)+ptLen], ad) {
		ret, err := aead.Open(dst, n[:], ct, ad)
		if err != nil {
			return nil, fmt.Errorf("cipher/modern: open: bad tag: %w", core.ErrAuth)
		}
		return ret, nil
	}
	pt, err := aead.Open(nil, n[:], ct, ad)
	if err != nil {
		return nil, fmt.Errorf("cipher/modern: open: bad tag: %w", core.ErrAuth)
	}
	defer clear(pt)
	return append(dst, pt...), nil
}

// nonces holds nonce buffers: a nonce on the stack would escape to the heap,
// passed to the AEAD through an interface, on every Seal and Open.
var nonces = sync.Pool{New: func() any { return new([chacha20poly1305.NonceSize]byte) }}

// getNonce returns the nonce of counter ctr, 0^32 || uint64be(ctr), in a
// pooled buffer for putNonce. Nonces are public; nothing is wiped.
func getNonce(ctr uint64) *[chacha20poly1305.NonceSize]byte {
	n := nonces.Get().(*[chacha20poly1305.NonceSize]byte)
	clear(n[:4])
	binary.BigEndian.PutUint64(n[4:], ctr)
	return n
}

func putNonce(n *[chacha20poly1305.NonceSize]byte) { nonces.Put(n) }

// Tag returns nil: the seal binds the header, so the engine's seq check
// refuses replays.
func (s *sessionKeys) Tag([]byte) []byte { return nil }

// Overhead is [Suite.Overhead], kept on the session too for callers that hold
// only the keys.
func (s *sessionKeys) Overhead(int) int { return overhead }

// Erase zeroes the session's key bytes and drops its AEADs, so that every
// later Seal and Open fails with [ErrErased]. The engine calls it when a
// session ends. It cannot zero the copy of the key inside each AEAD (see the
// package documentation). Erase is idempotent and safe to call concurrently
// with Seal and Open; a call already past taking its AEAD completes.
func (s *sessionKeys) Erase() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sealKey[:])
	clear(s.openKey[:])
	s.seal, s.open = nil, nil
}

// anyOverlap reports whether x and y share any byte of memory.
func anyOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 {
		return false
	}
	xp := uintptr(unsafe.Pointer(unsafe.SliceData(x)))
	yp := uintptr(unsafe.Pointer(unsafe.SliceData(y)))
	return xp < yp+uintptr(len(y)) && yp < xp+uintptr(len(x))
}

// sameStart reports whether x and y start at the same byte.
func sameStart(x, y []byte) bool {
	return len(x) > 0 && len(y) > 0 && unsafe.SliceData(x) == unsafe.SliceData(y)
}

// sliceForAppend extends in by n bytes, reusing its capacity when it can,
// and returns the whole slice and the new tail (as in crypto/cipher's AEADs).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	head = slices.Grow(in, n)[:len(in)+n]
	tail = head[len(in):]
	return head, tail
}
