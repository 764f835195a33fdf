package seed

import (
	"crypto/aes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/udpchat/udpchat/core"
)

// Version 2 key derivation; doc.go states it in full, and the tests check
// that statement against an independent implementation.
const (
	// v2InfoPrefix starts every HKDF info string: protocol version and suite,
	// so that no other use of the same secret can derive the same keys.
	v2InfoPrefix = "udpchat v2 " + Name + " "

	// The labels, all 7 bytes, so that prefix || label || hash splits one
	// way only.
	labelC2SEnc = "c2s-enc"
	labelC2SMAC = "c2s-mac"
	labelS2CEnc = "s2c-enc"
	labelS2CMAC = "s2c-mac"

	encKeySize = 16          // AES-128
	macKeySize = sha256.Size // HMAC-SHA256 keys as long as its output
)

// checkVersion refuses a protocol version this suite does not speak, before
// any work is done. 0 is what a zero Handshake holds and means version 1.
func checkVersion(hs core.Handshake) error {
	switch hs.Version {
	case 0, 1, 2:
		return nil
	}
	return fmt.Errorf("protocol version %d not supported (need 1 or 2)", hs.Version)
}

// sessionKeysFor returns one side's keys for the handshake secret key, which
// both sides know once the handshake is done: the version 1 construction, or
// the version 2 keys derived from key, the session id and both payloads.
// server says which side: the server seals s2c and opens c2s, the client the
// reverse.
func sessionKeysFor(hs core.Handshake, key, hello, reply []byte, server bool) (core.SessionKeys, error) {
	if err := checkVersion(hs); err != nil {
		return nil, err
	}
	if hs.Version != 2 {
		return NewSessionKeys(key)
	}
	if len(key) != keySize {
		return nil, fmt.Errorf("session key of %d bytes, need %d", len(key), keySize)
	}

	// PRK = HKDF-Extract(salt = uint64be(session id), IKM = K), once; each
	// key is HKDF-Expand(PRK, info, L), which is HKDF(salt, K, info, L).
	var salt [8]byte
	binary.BigEndian.PutUint64(salt[:], hs.SessionID)
	prk, err := hkdf.Extract(sha256.New, key, salt[:])
	if err != nil {
		return nil, err
	}
	defer clear(prk)
	th := transcriptHash(hello, reply)
	expand := func(label string, n int) ([]byte, error) {
		return hkdf.Expand(sha256.New, prk, v2InfoPrefix+label+string(th[:]), n)
	}

	c2sEnc, err := expand(labelC2SEnc, encKeySize)
	if err != nil {
		return nil, err
	}
	defer clear(c2sEnc) // the AES schedules keep what they need
	c2sMACKey, err := expand(labelC2SMAC, macKeySize)
	if err != nil {
		return nil, err
	}
	defer clear(c2sMACKey) // the precomputed HMAC states keep what they need
	s2cEnc, err := expand(labelS2CEnc, encKeySize)
	if err != nil {
		return nil, err
	}
	defer clear(s2cEnc)
	s2cMACKey, err := expand(labelS2CMAC, macKeySize)
	if err != nil {
		return nil, err
	}
	defer clear(s2cMACKey)
	c2sBlock, err := aes.NewCipher(c2sEnc)
	if err != nil {
		return nil, err
	}
	s2cBlock, err := aes.NewCipher(s2cEnc)
	if err != nil {
		return nil, err
	}
	c2sMAC, err := newMACKey(c2sMACKey)
	if err != nil {
		return nil, err
	}
	s2cMAC, err := newMACKey(s2cMACKey)
	if err != nil {
		return nil, err
	}

	if server {
		return &sessionKeys{sealEnc: s2cBlock, sealMAC: s2cMAC, openEnc: c2sBlock, openMAC: c2sMAC, bindAD: true}, nil
	}
	return &sessionKeys{sealEnc: c2sBlock, sealMAC: c2sMAC, openEnc: s2cBlock, openMAC: s2cMAC, bindAD: true}, nil
}

// transcriptHash is SHA-256(uint64be(len(hello)) || hello || reply): both
// handshake payloads, exactly as sent, with the length prefix making the
// split between them unambiguous.
func transcriptHash(hello, reply []byte) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(hello)))
	h.Write(n[:])
	h.Write(hello)
	h.Write(reply)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
