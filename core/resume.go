package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Resume is what a version 2 client that lost its session puts in its next
// KEY_REQ (Packet.Resume), so that the server carries it on where it was:
// it gets its nickname back at once, from any address, its ghost session is
// replaced, and the room replays what it missed from the log.
//
// The claim is bound to the handshake it rides in: Proof is an HMAC, under
// the resume token of the session it continues, of the KEY_REQ's payload
// and nickname (ResumeProof). The token itself never goes on the wire in
// the clear: the server hands it out sealed (a KindSession message) and can
// check it without remembering it, as an HMAC of the session id under a key
// of its own. Someone who records the KEY_REQ learns nothing they can use:
// sending it again from elsewhere gets a KEY_REP whose keys only the
// client can read.
type Resume struct {
	// Session is the id of the session the client continues.
	Session uint64
	// Epoch and Offset are the room log's epoch and the last offset the
	// client showed (0: none yet): the server replays from Offset+1 if the
	// epoch is still the log's.
	Epoch, Offset uint64
	// Proof is ResumeProof(token, hello, nick).
	Proof [sha256.Size]byte
}

// ResumeLen is the length of a Resume on the wire.
const ResumeLen = 8 + 8 + 8 + sha256.Size

// ErrResume means a Packet.Resume that is not ResumeLen bytes.
var ErrResume = errors.New("invalid resume")

// Append appends r's wire form, ResumeLen bytes: session, epoch and offset
// big-endian, then the proof.
func (r *Resume) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, r.Session)
	dst = binary.BigEndian.AppendUint64(dst, r.Epoch)
	dst = binary.BigEndian.AppendUint64(dst, r.Offset)
	return append(dst, r.Proof[:]...)
}

// ParseResume reads a Resume from its wire form.
func ParseResume(b []byte) (Resume, error) {
	if len(b) != ResumeLen {
		return Resume{}, fmt.Errorf("%w: %d bytes, want %d", ErrResume, len(b), ResumeLen)
	}
	r := Resume{
		Session: binary.BigEndian.Uint64(b),
		Epoch:   binary.BigEndian.Uint64(b[8:]),
		Offset:  binary.BigEndian.Uint64(b[16:]),
	}
	copy(r.Proof[:], b[24:])
	return r, nil
}

// ResumeTokenLen is the length of a resume token.
const ResumeTokenLen = sha256.Size

// ResumeProof is the proof a Resume carries: HMAC-SHA256 under token of a
// label, the KEY_REQ payload (hello) and the nickname asked for, each
// length-prefixed so that no two inputs read the same.
func ResumeProof(token, hello []byte, nick string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, token)
	mac.Write([]byte("udpchat resume v1"))
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(hello)))
	mac.Write(n[:])
	mac.Write(hello)
	binary.BigEndian.PutUint32(n[:], uint32(len(nick)))
	mac.Write(n[:])
	mac.Write([]byte(nick))
	var out [sha256.Size]byte
	mac.Sum(out[:0])
	return out
}

// ResumeToken is the token of session id under the server's key: what the
// server seals into the session's KindSession message, and recomputes to
// check a Resume, so that it keeps no token per session.
func ResumeToken(key []byte, id uint64) [ResumeTokenLen]byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("udpchat resume token v1"))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	mac.Write(b[:])
	var out [ResumeTokenLen]byte
	mac.Sum(out[:0])
	return out
}
