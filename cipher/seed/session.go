package seed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/udpchat/udpchat/core"
)

const (
	keySize   = 16 // AES-128, and (a seed defect kept in v1) the HMAC key too
	tagSize   = sha256.Size
	ivSize    = aes.BlockSize
	blockSize = aes.BlockSize
	// minSealed is the shortest possible sealing: the empty plaintext still
	// gets a whole block of padding.
	minSealed = tagSize + ivSize + blockSize
)

// sessionKeys holds only the key and the expanded AES schedule, neither ever
// written after construction; the hash and CBC state live per call. That is
// what makes Seal and Open safe to call concurrently.
type sessionKeys struct {
	key   []byte
	block cipher.Block
}

// NewSessionKeys returns the seed's message construction under a 16-byte key,
// the one the handshake agrees on, for tests and tools that have the key.
func NewSessionKeys(key []byte) (core.SessionKeys, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("cipher/seed: session key of %d bytes, need %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cipher/seed: %w", err)
	}
	return &sessionKeys{key: slices.Clone(key), block: block}, nil
}

// Seal appends HMAC-SHA256(K, IV||CT) || IV || CT.
//
// ad is ignored: the seed's MAC covers only IV||CT, and binding anything more
// would make every seed peer reject our messages. The header (type, seq) is
// therefore not authenticated in version 1; the engine refuses replays by
// remembering Tag instead.
//
// The IV comes from crypto/rand rather than the handshake's reader: CBC needs
// unpredictable IVs, and SessionKeys must be safe for concurrent use, which an
// arbitrary io.Reader need not be.
func (s *sessionKeys) Seal(dst, plaintext, _ []byte) ([]byte, error) {
	padLen := blockSize - len(plaintext)%blockSize
	n := tagSize + ivSize + len(plaintext) + padLen
	ret, out := sliceForAppend(dst, n)
	tag, iv, ct := out[:tagSize], out[tagSize:tagSize+ivSize], out[tagSize+ivSize:]

	// Copy the plaintext first: dst may be plaintext[:0], and writing the
	// IV before the copy would clobber it. copy handles the overlap.
	copy(ct, plaintext)
	for i := len(plaintext); i < len(ct); i++ {
		ct[i] = byte(padLen)
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("cipher/seed: seal: drawing the IV: %w", err)
	}
	cipher.NewCBCEncrypter(s.block, iv).CryptBlocks(ct, ct)

	mac := hmac.New(sha256.New, s.key)
	mac.Write(out[tagSize:])
	mac.Sum(tag[:0:tagSize]) // capped, so the sum can only land in tag
	return ret, nil
}

// Open checks the length, then the tag, and only then decrypts, so that
// nothing about the plaintext or padding is computed on unauthenticated data.
// Every failure wraps core.ErrAuth: whatever is wrong, the payload is not one
// this key sealed, and the engine drops it the same way.
func (s *sessionKeys) Open(dst, sealed, _ []byte) ([]byte, error) {
	// The checks run in this order so that each error names the first thing
	// wrong: a 61-byte payload is short, but what is wrong with it is a
	// ciphertext of 13 bytes.
	if len(sealed) < tagSize+ivSize {
		return nil, fmt.Errorf("cipher/seed: open: too short: %d bytes, need at least %d: %w", len(sealed), minSealed, core.ErrAuth)
	}
	if n := len(sealed) - tagSize - ivSize; n%blockSize != 0 {
		return nil, fmt.Errorf("cipher/seed: open: ciphertext of %d bytes, not a multiple of the block size %d: %w",
			n, blockSize, core.ErrAuth)
	}
	if len(sealed) < minSealed {
		return nil, fmt.Errorf("cipher/seed: open: too short: no ciphertext after the tag and IV: %w", core.ErrAuth)
	}
	tag, iv, ct := sealed[:tagSize], sealed[tagSize:tagSize+ivSize], sealed[tagSize+ivSize:]

	mac := hmac.New(sha256.New, s.key)
	mac.Write(sealed[tagSize:])
	if !hmac.Equal(tag, mac.Sum(nil)) {
		return nil, fmt.Errorf("cipher/seed: open: bad tag: %w", core.ErrAuth)
	}

	// Decrypt into scratch space, not dst's spare capacity: sealed may alias
	// dst (the in-place idiom), and a failed Open must leave dst untouched.
	pt := make([]byte, len(ct))
	defer clear(pt)
	cipher.NewCBCDecrypter(s.block, iv).CryptBlocks(pt, ct)

	// A bad padding under a valid tag means the sender is broken (or has the
	// key and is lying): there is no oracle to protect here, since an attacker
	// without the key never gets this far.
	padLen := int(pt[len(pt)-1])
	if padLen == 0 || padLen > blockSize {
		return nil, fmt.Errorf("cipher/seed: open: bad padding (length byte %d): %w", padLen, core.ErrAuth)
	}
	for _, b := range pt[len(pt)-padLen:] {
		if int(b) != padLen {
			return nil, fmt.Errorf("cipher/seed: open: bad padding (bytes differ): %w", core.ErrAuth)
		}
	}
	return append(dst, pt[:len(pt)-padLen]...), nil
}

// Tag returns a copy of the HMAC tag, or nil for anything too short to be a
// sealing. A copy, because the engine keeps tags to refuse replays long after
// the datagram buffer they came in has been reused.
func (s *sessionKeys) Tag(sealed []byte) []byte {
	if len(sealed) < minSealed {
		return nil
	}
	return slices.Clone(sealed[:tagSize])
}

// Overhead is [Suite.Overhead], kept on the session too for callers that hold
// only the keys.
func (s *sessionKeys) Overhead(n int) int { return overhead(n) }

// overhead counts the tag, the IV and the PKCS#7 padding, which is never
// empty: a plaintext of whole blocks gets one more block.
func overhead(n int) int {
	return tagSize + ivSize + (blockSize - n%blockSize)
}

// sliceForAppend extends in by n bytes, reusing its capacity when it can,
// and returns the whole slice and the new tail (as in crypto/cipher's AEADs).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	head = slices.Grow(in, n)[:len(in)+n]
	tail = head[len(in):]
	return head, tail
}
