package seed

import (
	"crypto/aes"
	"crypto/cipher"
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
	// adLenSize is the width of the length prefix of ad in a version 2 tag.
	adLenSize = 8
)

// sessionKeys is one side of a session, in either protocol version. Version 1
// has a single key: sealEnc and openEnc are the same AES schedule, sealMAC and
// openMAC the same HMAC key, and bindAD is false. Version 2 has four keys
// derived per direction (see v2.go) and binds ad into every tag.
//
// Everything a message needs that depends only on the key is built once,
// here: the AES schedules and the precomputed HMAC states (mac.go). Nothing
// here is written after construction; the hash and CBC state live per call.
// That is what makes Seal and Open safe to call concurrently.
type sessionKeys struct {
	sealEnc, openEnc cipher.Block
	sealMAC, openMAC *macKey
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
	mac, err := newMACKey(key)
	if err != nil {
		return nil, fmt.Errorf("cipher/seed: %w", err)
	}
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
//
// Seal encrypts in place in dst's spare capacity; it allocates only when
// dst has too little room.
func (s *sessionKeys) Seal(dst, plaintext, ad []byte) ([]byte, error) {
	padLen := blockSize - len(plaintext)%blockSize
	n := tagSize + ivSize + len(plaintext) + padLen
	ret, out := sliceForAppend(dst, n)
	tag, iv, ct := out[:tagSize], out[tagSize:tagSize+ivSize], out[tagSize+ivSize:]

	// ad goes into the MAC before anything is written to dst's spare
	// capacity, so that an ad living there is read intact.
	mac, err := startMAC(s.sealMAC, s.bindAD, ad)
	if err != nil {
		return nil, fmt.Errorf("cipher/seed: seal: %w", err)
	}
	defer mac.done()

	// Copy the plaintext first: dst may be plaintext[:0], and writing the
	// IV before the copy would clobber it. copy handles the overlap.
	copy(ct, plaintext)
	for i := len(plaintext); i < len(ct); i++ {
		ct[i] = byte(padLen)
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, fmt.Errorf("cipher/seed: seal: drawing the IV: %w", err)
	}
	cbcEncrypt(s.sealEnc, iv, ct)

	mac.write(out[tagSize:])
	sum, err := mac.tag()
	if err != nil {
		return nil, fmt.Errorf("cipher/seed: seal: %w", err)
	}
	copy(tag, sum)
	return ret, nil
}

// Open checks the length, then the tag, and only then decrypts, so that
// nothing about the plaintext or padding is computed on unauthenticated data.
// Every failure wraps core.ErrAuth: whatever is wrong, the payload is not one
// this key sealed (in version 2: under this ad, in the other direction), and
// the engine drops it the same way.
//
// The plaintext is decrypted straight into dst's spare capacity, so Open
// allocates only when dst has too little room (or in the rare layout where
// that capacity starts inside the ciphertext, past its start). On failure
// dst[:len(dst)] is as it was; what Open wrote past it is zeroed.
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

	mac, err := startMAC(s.openMAC, s.bindAD, ad)
	if err != nil {
		return nil, fmt.Errorf("cipher/seed: open: %w", err)
	}
	mac.write(sealed[tagSize:])
	ok, err := mac.verify(tag)
	mac.done()
	if err != nil {
		return nil, fmt.Errorf("cipher/seed: open: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("cipher/seed: open: bad tag: %w", core.ErrAuth)
	}

	// The tag is good: decrypt. sealed may alias dst (the in-place idiom,
	// dst = sealed[:0]), which decrypting block by block in order handles as
	// long as the output does not start inside the ciphertext, past its start;
	// that layout gets scratch space.
	ret, out := sliceForAppend(dst, len(ct))
	if !decryptInPlaceOK(out, ct) {
		pt := make([]byte, len(ct))
		defer clear(pt)
		cbcDecrypt(s.openEnc, iv, pt, ct)
		copy(out, pt)
	} else {
		cbcDecrypt(s.openEnc, iv, out, ct)
	}

	// A bad padding under a valid tag means the sender is broken (or has the
	// key and is lying): there is no oracle to protect here, since an attacker
	// without the key never gets this far.
	padLen := int(out[len(out)-1])
	if padLen == 0 || padLen > blockSize {
		clear(out)
		return nil, fmt.Errorf("cipher/seed: open: bad padding (length byte %d): %w", padLen, core.ErrAuth)
	}
	for _, b := range out[len(out)-padLen:] {
		if int(b) != padLen {
			clear(out)
			return nil, fmt.Errorf("cipher/seed: open: bad padding (bytes differ): %w", core.ErrAuth)
		}
	}
	clear(out[len(out)-padLen:])
	return ret[:len(ret)-padLen], nil
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
