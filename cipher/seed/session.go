package seed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
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
	// adLenSize is the width of the length prefix of ad in a version 2 tag.
	adLenSize = 8
)

// sessionKeys is one side of a session, in either protocol version. Version 1
// has a single key: sealEnc and openEnc are the same AES schedule, sealMAC and
// openMAC the same 16 bytes, and bindAD is false. Version 2 has four keys
// derived per direction (see v2.go) and binds ad into every tag.
//
// Nothing here is written after construction; the hash and CBC state live per
// call. That is what makes Seal and Open safe to call concurrently.
type sessionKeys struct {
	sealEnc, openEnc cipher.Block
	sealMAC, openMAC []byte
	bindAD           bool
}

// NewSessionKeys returns the seed's (version 1) message construction under a
// 16-byte key, the one the handshake agrees on, for tests and tools that have
// the key.
func NewSessionKeys(key []byte) (core.SessionKeys, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("cipher/seed: session key of %d bytes, need %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cipher/seed: %w", err)
	}
	mac := slices.Clone(key)
	return &sessionKeys{sealEnc: block, openEnc: block, sealMAC: mac, openMAC: mac}, nil
}

// Seal appends tag || IV || CT, where CT is the AES-128-CBC encryption of the
// PKCS#7-padded plaintext under a fresh IV and tag is HMAC-SHA256 over
//
//	version 1: IV || CT                                (under the one key K)
//	version 2: uint64be(len(ad)) || ad || IV || CT     (under the MAC key)
//
// In version 1 ad is ignored: the seed's MAC covers only IV||CT, and binding
// anything more would make every seed peer reject our messages. The header
// (type, seq) is therefore not authenticated there; the engine refuses
// replays by remembering Tag instead. Version 2 binds ad, the packet header.
//
// The IV comes from crypto/rand rather than the handshake's reader: CBC needs
// unpredictable IVs, and SessionKeys must be safe for concurrent use, which an
// arbitrary io.Reader need not be.
func (s *sessionKeys) Seal(dst, plaintext, ad []byte) ([]byte, error) {
	padLen := blockSize - len(plaintext)%blockSize
	n := tagSize + ivSize + len(plaintext) + padLen
	ret, out := sliceForAppend(dst, n)
	tag, iv, ct := out[:tagSize], out[tagSize:tagSize+ivSize], out[tagSize+ivSize:]

	// ad goes into the MAC before anything is written to dst's spare
	// capacity, so that an ad living there is read intact.
	mac := s.newMAC(s.sealMAC, ad)

	// Copy the plaintext first: dst may be plaintext[:0], and writing the
	// IV before the copy would clobber it. copy handles the overlap.
	copy(ct, plaintext)
	for i := len(plaintext); i < len(ct); i++ {
		ct[i] = byte(padLen)
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("cipher/seed: seal: drawing the IV: %w", err)
	}
	cipher.NewCBCEncrypter(s.sealEnc, iv).CryptBlocks(ct, ct)

	mac.Write(out[tagSize:])
	mac.Sum(tag[:0:tagSize]) // capped, so the sum can only land in tag
	return ret, nil
}

// newMAC returns an HMAC-SHA256 under key that has already taken in what
// precedes IV || CT: nothing in version 1, uint64be(len(ad)) || ad in version
// 2. The length prefix makes the split between ad and IV unambiguous.
func (s *sessionKeys) newMAC(key, ad []byte) hash.Hash {
	m := hmac.New(sha256.New, key)
	if s.bindAD {
		var n [adLenSize]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(ad)))
		m.Write(n[:])
		m.Write(ad)
	}
	return m
}

// Open checks the length, then the tag, and only then decrypts, so that
// nothing about the plaintext or padding is computed on unauthenticated data.
// Every failure wraps core.ErrAuth: whatever is wrong, the payload is not one
// this key sealed (in version 2: under this ad, in the other direction), and
// the engine drops it the same way.
func (s *sessionKeys) Open(dst, sealed, ad []byte) ([]byte, error) {
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

	mac := s.newMAC(s.openMAC, ad)
	mac.Write(sealed[tagSize:])
	if !hmac.Equal(tag, mac.Sum(nil)) {
		return nil, fmt.Errorf("cipher/seed: open: bad tag: %w", core.ErrAuth)
	}

	// Decrypt into scratch space, not dst's spare capacity: sealed may alias
	// dst (the in-place idiom), and a failed Open must leave dst untouched.
	pt := make([]byte, len(ct))
	defer clear(pt)
	cipher.NewCBCDecrypter(s.openEnc, iv).CryptBlocks(pt, ct)

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

// Tag returns, in version 1, a copy of the HMAC tag, or nil for anything too
// short to be a sealing. A copy, because the engine keeps tags to refuse
// replays long after the datagram buffer they came in has been reused.
//
// In version 2 it returns nil: the tag binds the header, so a payload replayed
// under another seq, type or session fails to open, and a duplicate under the
// same header is the engine's receiver's business (it has seen that seq).
func (s *sessionKeys) Tag(sealed []byte) []byte {
	if s.bindAD || len(sealed) < minSealed {
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
