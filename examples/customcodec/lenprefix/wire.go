package lenprefix

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/udpchat/udpchat/core"
)

// appendField appends v with its length before it, as a uvarint.
func appendField[T string | []byte](dst []byte, v T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// reader reads the fields of one datagram or message in turn. The first
// error sticks: every later read returns a zero value, and err says what
// went wrong first, naming the field.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(field string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %w", field, err)
	}
}

var errTruncated = errors.New("truncated")

// byte reads one byte.
func (r *reader) byte(field string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail(field, errTruncated)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// uint64 reads 8 bytes, big-endian.
func (r *reader) uint64(field string) uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.fail(field, errTruncated)
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// uvarint reads a minimal uvarint: its last byte is not 0, unless it is
// the only one, so that each number has one encoding.
func (r *reader) uvarint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	switch {
	case n == 0:
		r.fail(field, errTruncated)
		return 0
	case n < 0:
		r.fail(field, errors.New("uvarint overflows 64 bits"))
		return 0
	case n > 1 && r.b[n-1] == 0:
		r.fail(field, errors.New("uvarint not minimal"))
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes reads a length and that many bytes, at most limit, into a new
// slice: nil for none.
func (r *reader) bytes(field string, limit int) []byte {
	n := r.uvarint(field)
	if r.err != nil {
		return nil
	}
	if n > uint64(limit) {
		r.fail(field, fmt.Errorf("%d bytes, at most %d", n, limit))
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail(field, fmt.Errorf("%d bytes, %d left", n, len(r.b)))
		return nil
	}
	if n == 0 {
		return nil
	}
	v := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return v
}

// text reads a length-prefixed UTF-8 string of at most limit bytes.
func (r *reader) text(field string, limit int) string {
	s := string(r.bytes(field, limit))
	if r.err == nil {
		r.err = core.CheckText(s, field, -1, fieldName)
	}
	return s
}

// name reads a name (nick, suite, from, to): UTF-8, at most core.MaxName
// bytes.
func (r *reader) name(field string) string { return r.text(field, core.MaxName) }

// end returns the first error, or refuses bytes after the last field.
func (r *reader) end() error {
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes after the last field", len(r.b))
	}
	return r.err
}
