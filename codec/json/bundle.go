package json

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/udpchat/udpchat/core"
)

// Codec bundles inner messages too.
var _ core.Bundler = Codec{}

// AppendBundled adds m, one message as AppendMessage encodes it, at the end
// of bundle, a JSON array of messages, and returns the longer bundle:
//
//	[{"kind": "chat", "from": "alice", "text": "hi"},{"kind": "chat", "from": "bob", "text": "hello"}]
//
// A nil or empty bundle becomes [m]; any other must be what AppendBundled
// returned, whose final ']' becomes ','m']', in bundle's own storage when
// it has room. m is not checked: it is the caller's own AppendMessage
// output, and DecodeMessages refuses a bundle with anything else in it.
func (Codec) AppendBundled(bundle, m []byte) []byte {
	if len(bundle) == 0 {
		bundle = append(slices.Grow(bundle, len(m)+2), '[')
	} else {
		bundle[len(bundle)-1] = ','
	}
	bundle = append(bundle, m...)
	return append(bundle, ']')
}

// DecodeMessages decodes b and appends what it holds to dst. If b starts
// with '[' it is a bundle, and the whole of b must be one JSON array of 1
// to core.MaxBundle elements, with nothing but whitespace after it, each
// element an object that DecodeMessage accepts (so no array: a bundle holds
// no bundle). The bundle is held to DecodeMessage's rules as a whole: UTF-8,
// no lone surrogate escapes, and so on. Otherwise b is one message, and
// DecodeMessage reads it.
//
// Errors name the element they are about, counted from 0, and the bundle is
// taken whole or not at all: on error dst is returned as it was.
func (c Codec) DecodeMessages(dst []*core.Message, b []byte) ([]*core.Message, error) {
	if len(b) == 0 || b[0] != '[' {
		m, err := c.DecodeMessage(b)
		if err != nil {
			return dst, err
		}
		return append(dst, m), nil
	}
	// One syntax and UTF-8 check of the whole, as DecodeMessage makes of
	// one message; the walk below then relies on well-formed input and
	// only checks its bounds.
	if err := validate(b, "bundle"); err != nil {
		return dst, err
	}
	n := len(dst)
	i := skipWS(b, 1)
	if i < len(b) && b[i] == ']' {
		return dst, errors.New("codec/json: empty bundle")
	}
	for k := 0; ; k++ {
		if k == core.MaxBundle {
			return truncate(dst, n), fmt.Errorf("codec/json: bundle of more than %d messages", core.MaxBundle)
		}
		if i >= len(b) || b[i] != '{' {
			if i < len(b) && b[i] == '[' {
				return truncate(dst, n), fmt.Errorf("codec/json: bundle element %d is an array: a bundle holds no bundle", k)
			}
			return truncate(dst, n), fmt.Errorf("codec/json: bundle element %d is not a message object but %s", k, kindOf(b, i))
		}
		end := skipValue(b, i)
		if end < 0 {
			return truncate(dst, n), errMalformed
		}
		var vals [nMessageFields][]byte
		err := collectValid(b[i:end], "message", messageFields[:], vals[:])
		var m *core.Message
		if err == nil {
			m, err = messageOf(&vals)
		}
		if err != nil {
			return truncate(dst, n), &elementError{k, err}
		}
		dst = append(dst, m)

		i = skipWS(b, end)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipWS(b, i+1)
		case i < len(b) && b[i] == ']':
			return dst, nil // validate made sure that only whitespace follows
		default:
			return truncate(dst, n), errMalformed
		}
	}
}

// truncate drops what DecodeMessages appended to dst after its first n
// messages, clearing them so that the caller's reused storage does not keep
// them alive.
func truncate(dst []*core.Message, n int) []*core.Message {
	clear(dst[n:])
	return dst[:n]
}

// elementError is err, a codec/json error about one message, said of
// element i of a bundle. It is a type rather than fmt.Errorf's %w so that
// the message says "codec/json: " once.
type elementError struct {
	i   int
	err error
}

func (e *elementError) Error() string {
	return fmt.Sprintf("codec/json: bundle element %d: %s", e.i, strings.TrimPrefix(e.err.Error(), "codec/json: "))
}

func (e *elementError) Unwrap() error { return e.err }
