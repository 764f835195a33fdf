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
	n := len(dst)
	s := scanner{b: b}
	dst, end, err := s.bundle(dst)
	if err := s.finish(end, "bundle", err); err != nil {
		return slices.Delete(dst, n, len(dst)), err
	}
	return dst, nil
}

// bundle reads the array at b[0]: it appends to dst the messages of its
// elements and returns the array's end and the first refusal of an element
// or of the array's length. After a refusal the rest is only scanned, so
// that a syntax error further on is still the verdict.
func (s *scanner) bundle(dst []*core.Message) ([]*core.Message, int, error) {
	b := s.b
	i := skipWS(b, 1)
	if i < len(b) && b[i] == ']' {
		return dst, i + 1, errors.New("codec/json: empty bundle")
	}
	var err error
	for k := 0; ; k++ {
		switch {
		case err != nil:
			i = s.value(i, 1)
		case k == core.MaxBundle:
			err = fmt.Errorf("codec/json: bundle of more than %d messages", core.MaxBundle)
			i = s.value(i, 1)
		case i < len(b) && b[i] == '{':
			var m *core.Message
			if i, m, err = s.message(i); m != nil {
				dst = append(dst, m)
			} else if err != nil {
				err = &elementError{k, err}
			}
		case i < len(b) && b[i] == '[':
			err = fmt.Errorf("codec/json: bundle element %d is an array: a bundle holds no bundle", k)
			i = s.value(i, 1)
		default:
			err = fmt.Errorf("codec/json: bundle element %d is not a message object but %s", k, kindOf(b, i))
			i = s.value(i, 1)
		}
		if i < 0 {
			return dst, -1, err
		}
		i = skipWS(b, i)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipWS(b, i+1)
		case i < len(b) && b[i] == ']':
			return dst, i + 1, err
		default:
			return dst, -1, err
		}
	}
}

// message reads the element of a bundle at b[i], which is '{': it returns
// the element's end and, if its syntax is good, the message it holds (nil
// if none) or why DecodeMessage would refuse it. The element's strings may
// still prove not to be UTF-8, which finish says of the whole bundle.
func (s *scanner) message(i int) (int, *core.Message, error) {
	var vals [nMessageFields][]byte
	end, err := s.object(i, 2, "message", messageFields[:], vals[:])
	if end < 0 || err != nil {
		return end, nil, err
	}
	m, err := messageOf(&vals)
	return end, m, err
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
