// Package replay remembers what a session has accepted, so that a payload
// the seed's construction cannot bind to its header is not taken twice.
package replay

import (
	"encoding/binary"
)

// Tags remembers the MAC tags of the last payloads a version 1 session
// accepted, so that a recorded payload replayed under a new seq is refused:
// the seed's MAC does not cover the header, so nothing else stops it. It is
// bounded (a ring of the newest tags) and allocated on first use, so idle
// sessions cost nothing. Eight bytes of a 32-byte HMAC tag are plenty to tell
// one session's own payloads apart; a forger cannot choose them anyway.
type Tags struct {
	ring []uint64
	next int
	set  map[uint64]struct{}
}

// Size bounds the tags a session remembers: a replay of a payload older
// than the last Size accepted ones is not caught in version 1.
const Size = 1024

func tagKey(tag []byte) (uint64, bool) {
	if len(tag) < 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(tag), true
}

// Seen reports whether tag was added before.
func (t *Tags) Seen(tag []byte) bool {
	k, ok := tagKey(tag)
	if !ok || t.set == nil {
		return false
	}
	_, dup := t.set[k]
	return dup
}

// Add remembers tag, forgetting the oldest one when full.
func (t *Tags) Add(tag []byte) {
	k, ok := tagKey(tag)
	if !ok {
		return
	}
	if t.set == nil {
		t.set = make(map[uint64]struct{})
	}
	if len(t.ring) < Size {
		t.ring = append(t.ring, k)
	} else {
		delete(t.set, t.ring[t.next])
		t.ring[t.next] = k
		t.next = (t.next + 1) % Size
	}
	t.set[k] = struct{}{}
}
