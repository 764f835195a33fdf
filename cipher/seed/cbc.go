package seed

import (
	"crypto/cipher"
	"encoding/binary"
	"unsafe"
)

// CBC by hand, over the session's cipher.Block. crypto/cipher's CBC modes
// copy the whole AES key schedule into a fresh object on every
// NewCBCEncrypter and NewCBCDecrypter, which was most of what a message cost
// to seal or open; on amd64 they run this same loop over the block cipher
// anyway. The loops also define how the output may overlap the input, which
// the in-place idiom (dst = sealed[:0]) needs.

// cbcEncrypt encrypts buf, whole blocks, in place, chaining from iv.
func cbcEncrypt(b cipher.Block, iv, buf []byte) {
	prev := iv
	for i := 0; i < len(buf); i += blockSize {
		blk := buf[i : i+blockSize]
		xorBlock(blk, prev)
		b.Encrypt(blk, blk)
		prev = blk
	}
}

// cbcDecrypt decrypts src, whole blocks chained from iv, into dst, which is
// as long. dst may be src itself, or overlap it only by starting at least a
// block before it (decryptInPlaceOK): block i of dst is written after block
// i of src is read, and never reaches a block of src not yet read.
func cbcDecrypt(b cipher.Block, iv, dst, src []byte) {
	var prev, cur [blockSize]byte
	copy(prev[:], iv)
	for i := 0; i < len(src); i += blockSize {
		copy(cur[:], src[i:i+blockSize])
		out := dst[i : i+blockSize]
		b.Decrypt(out, src[i:i+blockSize])
		xorBlock(out, prev[:])
		prev = cur
	}
	clear(prev[:])
	clear(cur[:])
}

// xorBlock sets dst ^= x, for one block.
func xorBlock(dst, x []byte) {
	_, _ = dst[blockSize-1], x[blockSize-1]
	binary.NativeEndian.PutUint64(dst, binary.NativeEndian.Uint64(dst)^binary.NativeEndian.Uint64(x))
	binary.NativeEndian.PutUint64(dst[8:], binary.NativeEndian.Uint64(dst[8:])^binary.NativeEndian.Uint64(x[8:]))
}

// decryptInPlaceOK reports whether cbcDecrypt may write dst while reading
// src: they do not overlap, or start at the same byte, or dst starts at
// least a block before src.
func decryptInPlaceOK(dst, src []byte) bool {
	if len(dst) == 0 || len(src) == 0 {
		return true
	}
	d := uintptr(unsafe.Pointer(unsafe.SliceData(dst)))
	s := uintptr(unsafe.Pointer(unsafe.SliceData(src)))
	switch {
	case d+uintptr(len(dst)) <= s || s+uintptr(len(src)) <= d:
		return true // disjoint
	case d == s:
		return true
	case d < s:
		return s-d >= blockSize
	}
	return false
}
