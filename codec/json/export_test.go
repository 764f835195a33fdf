package json

import (
	stdjson "encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/udpchat/udpchat/core"
)

// The decoding as it was before the one-pass scanner of syntax.go, kept
// for FuzzSameAsValid to hold the scanner to: json.Valid and utf8.Valid over
// the whole input, then a walk that relies on them. Only the way to the raw
// field values is the old one; packetOf and messageOf, which read them, are
// the codec's own.

// ValidFirst decodes as Codec did before the scanner.
type ValidFirst struct{}

// Decode is Codec.Decode, the old way.
func (v ValidFirst) Decode(b []byte) (*core.Packet, error) { return core.DecodeNew(v, b) }

// DecodeTo is Codec.DecodeTo, the old way.
func (ValidFirst) DecodeTo(p *core.Packet, b, buf []byte) error {
	*p = core.Packet{}
	var vals [nPacketFields][]byte
	if err := collectValidFirst(b, "datagram", packetFields[:], vals[:]); err != nil {
		return err
	}
	return packetOf(p, &vals, buf)
}

// DecodeMessage is Codec.DecodeMessage, the old way.
func (ValidFirst) DecodeMessage(b []byte) (*core.Message, error) {
	var vals [nMessageFields][]byte
	if err := collectValidFirst(b, "message", messageFields[:], vals[:]); err != nil {
		return nil, err
	}
	return messageOf(&vals)
}

// DecodeMessages is Codec.DecodeMessages, the old way.
func (c ValidFirst) DecodeMessages(dst []*core.Message, b []byte) ([]*core.Message, error) {
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
			return slices.Delete(dst, n, len(dst)), fmt.Errorf("codec/json: bundle of more than %d messages", core.MaxBundle)
		}
		if i >= len(b) || b[i] != '{' {
			if i < len(b) && b[i] == '[' {
				return slices.Delete(dst, n, len(dst)), fmt.Errorf("codec/json: bundle element %d is an array: a bundle holds no bundle", k)
			}
			return slices.Delete(dst, n, len(dst)), fmt.Errorf("codec/json: bundle element %d is not a message object but %s", k, kindOf(b, i))
		}
		end := skipValue(b, i)
		if end < 0 {
			return slices.Delete(dst, n, len(dst)), errMalformed
		}
		var vals [nMessageFields][]byte
		err := collectValid(b[i:end], "message", messageFields[:], vals[:])
		var m *core.Message
		if err == nil {
			m, err = messageOf(&vals)
		}
		if err != nil {
			return slices.Delete(dst, n, len(dst)), &elementError{k, err}
		}
		dst = append(dst, m)

		i = skipWS(b, end)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipWS(b, i+1)
		case i < len(b) && b[i] == ']':
			return dst, nil // validate made sure that only whitespace follows
		default:
			return slices.Delete(dst, n, len(dst)), errMalformed
		}
	}
}

// collectValidFirst is collect, the old way.
func collectValidFirst(b []byte, what string, names []string, vals [][]byte) error {
	if err := validate(b, what); err != nil {
		return err
	}
	return collectValid(b, what, names, vals)
}

// validate checks that b is one well-formed UTF-8 JSON value, with nothing
// but whitespace after it. what names the input in errors.
func validate(b []byte, what string) error {
	if len(b) == 0 {
		return fmt.Errorf("codec/json: empty %s", what)
	}
	if !stdjson.Valid(b) {
		return syntaxError(b)
	}
	// encoding/json lets invalid UTF-8 through (it substitutes U+FFFD), but
	// the protocol says UTF-8, and a Python peer decoding the bytes fails.
	if !utf8.Valid(b) {
		return fmt.Errorf("codec/json: %s is not valid UTF-8", what)
	}
	return nil
}

// collectValid is collect of b, which validate has accepted: by itself, or
// as a part of a larger value (an element of a bundle), so that the part is
// not checked again.
func collectValid(b []byte, what string, names []string, vals [][]byte) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return fmt.Errorf("codec/json: %s is not a JSON object but %s", what, kindOf(b, i))
	}
	i++
	for {
		i = skipWS(b, i)
		if i < len(b) && b[i] == '}' {
			return nil
		}
		// Key.
		ks := i
		ke, esc := stringEnd(b, ks)
		if ke < 0 {
			return errMalformed
		}
		key := b[ks+1 : ke-1]
		if esc {
			u, err := unquote(b[ks:ke])
			if err != nil {
				return err
			}
			key = u
		}
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return errMalformed
		}
		// Value.
		vs := skipWS(b, i+1)
		ve := skipValue(b, vs)
		if ve < 0 {
			return errMalformed
		}
		for f, name := range names {
			if string(key) == name {
				if vals[f] != nil {
					return fmt.Errorf("codec/json: duplicate %q field in %s", key, what)
				}
				vals[f] = b[vs:ve]
				break
			}
		}

		i = skipWS(b, ve)
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i < len(b) && b[i] == '}' {
			return nil
		}
		return errMalformed
	}
}

// skipValue returns the index just past the JSON value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, _ := stringEnd(b, i)
				if end < 0 {
					return -1
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	// A number or a literal (true, false, null): runs to the next delimiter.
	j := i
	for j < len(b) && !isWS(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
