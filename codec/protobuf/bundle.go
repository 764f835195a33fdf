package protobuf

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/udpchat/udpchat/core"
)

// Codec bundles inner messages too.
var _ core.Bundler = Codec{}

// fieldBundle is the number of packet.proto's Message.bundle
// (TestBundleFieldNumber).
const fieldBundle protowire.Number = 15

// AppendBundled adds m, one message as AppendMessage encodes it, at the end
// of bundle and returns the longer bundle: it appends m as one more entry of
// Message.bundle (field 15), its tag, its length and m, as a protobuf
// encoder writes a repeated message field. A nil or empty bundle becomes a
// bundle of m alone. m is not checked: it is the caller's own AppendMessage
// output, and DecodeMessages refuses an entry that is not one message.
func (Codec) AppendBundled(bundle, m []byte) []byte {
	bundle = slices.Grow(bundle, 1+protowire.SizeVarint(uint64(len(m)))+len(m))
	bundle = protowire.AppendTag(bundle, fieldBundle, protowire.BytesType)
	return protowire.AppendBytes(bundle, m)
}

// DecodeMessages decodes b and appends what it holds to dst. If b holds the
// bundle field (15) at all, it is a bundle: it must hold that field and no
// other, known or unknown, 1 to core.MaxBundle times, and each entry must be
// one message that DecodeMessage accepts, so not a bundle itself. Otherwise
// b is one message, read as DecodeMessage reads it; an empty b is one chat
// message with no text, so there is no empty bundle.
//
// Errors name the entry they are about, counted from 0, and the bundle is
// taken whole or not at all: on error dst is returned as it was.
func (c Codec) DecodeMessages(dst []*core.Message, b []byte) ([]*core.Message, error) {
	// One walk decides which it is, and bounds the entries before any is
	// decoded.
	found, err := messageSchema.walk(b, "message")
	if err != nil {
		return dst, err
	}
	if found.known&(1<<fieldBundle) == 0 {
		m, err := decodeMessage(b)
		if err != nil {
			return dst, err
		}
		return append(dst, m), nil
	}
	if other := found.known &^ (1 << fieldBundle); other != 0 {
		num := bits.TrailingZeros64(other)
		return dst, fmt.Errorf("codec/protobuf: bundle (field 15) beside %s (field %d): a bundle holds nothing else",
			messageSchema.fields[num].name, num)
	}
	if found.unknown {
		return dst, errors.New("codec/protobuf: bundle (field 15) beside an unknown field: a bundle holds nothing else")
	}
	n := len(dst)
	for k := 0; len(b) > 0; k++ {
		// The walk has made sure that every field is a well-formed field
		// 15 of wire type bytes.
		_, _, tn := protowire.ConsumeTag(b)
		if tn < 0 {
			return slices.Delete(dst, n, len(dst)), errMalformedBundle
		}
		entry, vn := protowire.ConsumeBytes(b[tn:])
		if vn < 0 {
			return slices.Delete(dst, n, len(dst)), errMalformedBundle
		}
		b = b[tn+vn:]
		m, err := c.DecodeMessage(entry)
		if err != nil {
			return slices.Delete(dst, n, len(dst)), &entryError{k, err}
		}
		dst = append(dst, m)
	}
	return dst, nil
}

// errMalformedBundle is what DecodeMessages says of wire format the schema
// walk would have refused first; it cannot happen.
var errMalformedBundle = errors.New("codec/protobuf: bundle: malformed")

// entryError is err, a codec/protobuf error about one message, said of
// entry i of a bundle. It is a type rather than fmt.Errorf's %w so that the
// message says "codec/protobuf: " once.
type entryError struct {
	i   int
	err error
}

func (e *entryError) Error() string {
	return fmt.Sprintf("codec/protobuf: bundle entry %d: %s", e.i, strings.TrimPrefix(e.err.Error(), "codec/protobuf: "))
}

func (e *entryError) Unwrap() error { return e.err }
