package jetstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/udpchat/udpchat/core"
)

// The stored form of a message: a version byte, so that a later release
// can read what an earlier one wrote, then
//
//	kind      1 byte
//	flags     1 byte: bit 0 set if a time follows
//	id        uvarint
//	origin    uvarint
//	time      varint, Unix nanoseconds (only with flag bit 0)
//	from, to, text: each a uvarint length and the bytes
//
// About 20 bytes beside the text, a fifth of what JSON of the same fields
// takes. Origin is stored because it is what keeps a sender from being
// sent its own message by another server sharing the log.
const (
	encodingV1 = 1
	flagTime   = 1 << 0
)

var errEncoding = errors.New("roomlog/jetstream: stored message")

// appendMessage appends m's stored form to dst.
func appendMessage(dst []byte, m *core.Message) []byte {
	flags := byte(0)
	if !m.Time.IsZero() {
		flags |= flagTime
	}
	dst = append(dst, encodingV1, byte(m.Kind), flags)
	dst = binary.AppendUvarint(dst, m.ID)
	dst = binary.AppendUvarint(dst, m.Origin)
	if flags&flagTime != 0 {
		dst = binary.AppendVarint(dst, m.Time.UnixNano())
	}
	for _, s := range [...]string{m.From, m.To, m.Text} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// decodeMessage decodes a stored form into m. It refuses a version it does
// not know, a truncated field and trailing bytes, since the stream may hold
// what another program published on the room's subject.
func decodeMessage(b []byte, m *core.Message) error {
	if len(b) < 3 {
		return fmt.Errorf("%w: %d bytes, too short", errEncoding, len(b))
	}
	if b[0] != encodingV1 {
		return fmt.Errorf("%w: version %d, this program reads %d", errEncoding, b[0], encodingV1)
	}
	*m = core.Message{Kind: core.MessageKind(b[1])}
	flags := b[2]
	if flags&^flagTime != 0 {
		return fmt.Errorf("%w: unknown flags %#x", errEncoding, flags)
	}
	b = b[3:]
	var ok bool
	if m.ID, b, ok = uvarint(b); !ok {
		return fmt.Errorf("%w: bad id", errEncoding)
	}
	if m.Origin, b, ok = uvarint(b); !ok {
		return fmt.Errorf("%w: bad origin", errEncoding)
	}
	if flags&flagTime != 0 {
		ns, n := binary.Varint(b)
		if n <= 0 {
			return fmt.Errorf("%w: bad time", errEncoding)
		}
		m.Time, b = time.Unix(0, ns), b[n:]
	}
	for _, s := range [...]*string{&m.From, &m.To, &m.Text} {
		var l uint64
		if l, b, ok = uvarint(b); !ok || l > uint64(len(b)) {
			return fmt.Errorf("%w: bad string length", errEncoding)
		}
		*s, b = string(b[:l]), b[l:]
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errEncoding, len(b))
	}
	return nil
}

func uvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, b, false
	}
	return v, b[n:], true
}
