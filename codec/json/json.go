// Package json implements the "json" codec: the seed's wire format, protocol
// version 1 (docs/PROTOCOL.md, "Version 1: the seed protocol"; the project's
// contract in PROTOCOL.md "Codecs" and "Hostile input").
//
// A datagram is one UTF-8 JSON object:
//
//	{"type": "KEY_REQ", "payload": "<base64>"}
//	{"type": "KEY_REP", "payload": "<base64>"}
//	{"type": "DATA", "seq": 0, "payload": "<base64>"}   client → server
//	{"type": "DATA", "payload": "<base64>"}             server broadcast
//	{"type": "ACK", "ack_seq": 3}
//
// # Encoding
//
// The seed builds its datagrams with Python's json.dumps, whose default
// separators are ", " and ": ". Append reproduces those bytes exactly, field
// for field, so that a packet decoded from a seed peer re-encodes to the very
// bytes the seed sent. Field order is type, seq (if HasSeq), ack_seq (if
// HasAckSeq), payload. KEY_REQ, KEY_REP and DATA always carry "payload", even
// when it is empty; an ACK carries one only if its Payload is non-empty. The
// payload is standard base64 with padding.
//
// # Decoding
//
// Every datagram may be hostile, so Decode is strict and says why it refuses:
//
//   - the datagram must be valid UTF-8 and exactly one JSON object, with
//     nothing but whitespace after it;
//   - "type" must be a string naming KEY_REQ, KEY_REP, DATA or ACK;
//   - "seq" and "ack_seq", when present, must be JSON integers in [0, 2^64-1]
//     written without sign, fraction or exponent: 1.0, 1e3, -0, "1", null and
//     the like are refused (the seed echoed whatever it got; we do not);
//   - "payload" must be a string holding standard base64 with padding and zero
//     padding bits (base64.StdEncoding.Strict); line breaks, which Go's
//     decoder would otherwise skip, are refused;
//   - KEY_REQ, KEY_REP and DATA must have a payload; a DATA without seq is
//     accepted, because server broadcasts have none; whether a seq is required
//     is the engine's decision, not the codec's;
//   - unknown fields are ignored, whatever their value, because version 2
//     adds fields that a version 1 peer must skip;
//   - a known field (type, seq, ack_seq, payload) that appears twice is
//     refused. Python and encoding/json keep the last value, other parsers keep
//     the first; a packet that means different things to different parsers is
//     a gift to an attacker, and no seed peer ever sends one.
//
// Field names and strings are compared after JSON unescaping, as Python does,
// so "\u0073eq" is "seq"; names are case-sensitive, unlike encoding/json's
// struct matching. Length limits belong to the transport (core.MaxDatagram),
// not to the codec.
package json

import (
	"bytes"
	"encoding/base64"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/udpchat/udpchat/core"
)

// Name is the name the codec is registered and configured under.
const Name = "json"

// Codec is the JSON codec of protocol version 1. The zero value is ready to
// use; it holds no state, so it is safe for concurrent use.
type Codec struct{}

var _ core.Codec = Codec{}

func init() {
	core.Codecs.Register(Name, Codec{})
}

// b64 is strict so that every accepted payload has exactly one encoding:
// decode then re-encode gives back the bytes the peer sent.
var b64 = base64.StdEncoding.Strict()

// Name returns "json".
func (Codec) Name() string { return Name }

// Append appends the seed's encoding of p to dst. It is written by hand rather
// than with encoding/json because the bytes must match json.dumps exactly
// (separators, field order) and because it runs once per datagram sent.
func (Codec) Append(dst []byte, p *core.Packet) ([]byte, error) {
	if p == nil {
		return dst, errors.New("codec/json: cannot encode a nil packet")
	}
	var name string
	switch p.Type {
	case core.TypeKeyReq, core.TypeKeyRep, core.TypeData, core.TypeAck:
		name = p.Type.String()
	default:
		return dst, fmt.Errorf("codec/json: cannot encode packet type %v", p.Type)
	}
	withPayload := len(p.Payload) > 0 || p.Type != core.TypeAck

	// Grow once: the header is at most ~60 bytes plus two 20-digit numbers.
	n := 64 + len(name)
	if withPayload {
		n += base64.StdEncoding.EncodedLen(len(p.Payload))
	}
	dst = slices.Grow(dst, n)

	dst = append(dst, `{"type": "`...)
	dst = append(dst, name...)
	dst = append(dst, '"')
	if p.HasSeq {
		dst = append(dst, `, "seq": `...)
		dst = strconv.AppendUint(dst, p.Seq, 10)
	}
	if p.HasAckSeq {
		dst = append(dst, `, "ack_seq": `...)
		dst = strconv.AppendUint(dst, p.AckSeq, 10)
	}
	if withPayload {
		dst = append(dst, `, "payload": "`...)
		dst = base64.StdEncoding.AppendEncode(dst, p.Payload)
		dst = append(dst, '"')
	}
	dst = append(dst, '}')
	return dst, nil
}

// Field bits, to notice a known field given twice.
const (
	seenType = 1 << iota
	seenSeq
	seenAckSeq
	seenPayload
)

// Decode parses one datagram; see the package documentation for what it
// accepts. The returned packet owns its payload: it never aliases b.
//
// Syntax is checked first, in full, by encoding/json (json.Valid allocates
// nothing); the field walk that follows can then rely on well-formed input and
// stays a simple, allocation-free scan. It still checks its bounds, so that a
// disagreement with json.Valid would be an error, never a panic.
func (Codec) Decode(b []byte) (*core.Packet, error) {
	if len(b) == 0 {
		return nil, errors.New("codec/json: empty datagram")
	}
	if !stdjson.Valid(b) {
		return nil, syntaxError(b)
	}
	// encoding/json lets invalid UTF-8 through (it substitutes U+FFFD), but
	// the protocol says UTF-8, and a Python peer decoding the bytes fails.
	if !utf8.Valid(b) {
		return nil, errors.New("codec/json: datagram is not valid UTF-8")
	}

	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, fmt.Errorf("codec/json: datagram is not a JSON object but %s", kindOf(b, i))
	}
	i++

	var (
		p       core.Packet
		seen    int
		typeOK  bool
		payload []byte // nil until a payload field is seen
	)
	for {
		i = skipWS(b, i)
		if i < len(b) && b[i] == '}' {
			break
		}
		// Key.
		ks := i
		ke, esc := stringEnd(b, ks)
		if ke < 0 {
			return nil, errMalformed
		}
		key := b[ks+1 : ke-1]
		if esc {
			s, err := unquote(b[ks:ke])
			if err != nil {
				return nil, err
			}
			key = s
		}
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return nil, errMalformed
		}
		// Value.
		vs := skipWS(b, i+1)
		ve := skipValue(b, vs)
		if ve < 0 {
			return nil, errMalformed
		}
		val := b[vs:ve]

		var bit int
		switch string(key) {
		case "type":
			bit = seenType
		case "seq":
			bit = seenSeq
		case "ack_seq":
			bit = seenAckSeq
		case "payload":
			bit = seenPayload
		}
		if bit != 0 {
			if seen&bit != 0 {
				return nil, fmt.Errorf("codec/json: duplicate %q field", key)
			}
			seen |= bit
		}
		var err error
		switch bit {
		case seenType:
			p.Type, err = parseType(val)
			typeOK = err == nil
		case seenSeq:
			p.Seq, err = parseUint("seq", val)
			p.HasSeq = true
		case seenAckSeq:
			p.AckSeq, err = parseUint("ack_seq", val)
			p.HasAckSeq = true
		case seenPayload:
			payload, err = parsePayload(val)
		}
		if err != nil {
			return nil, err
		}

		i = skipWS(b, ve)
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i < len(b) && b[i] == '}' {
			break
		}
		return nil, errMalformed
	}

	if !typeOK {
		return nil, errors.New(`codec/json: missing "type" field`)
	}
	if payload == nil && p.Type != core.TypeAck {
		return nil, fmt.Errorf(`codec/json: %v without "payload" field`, p.Type)
	}
	p.Payload = payload
	return &p, nil
}

// errMalformed means the field walk met something json.Valid had accepted but
// the walk did not expect. It should never happen; it exists so that it
// cannot turn into an index panic.
var errMalformed = errors.New("codec/json: malformed JSON object")

// syntaxError explains why b is not JSON, in encoding/json's words. It is
// only called on the error path, so the second parse costs nothing normally.
func syntaxError(b []byte) error {
	err := stdjson.Unmarshal(b, new(struct{}))
	var se *stdjson.SyntaxError
	if errors.As(err, &se) {
		// encoding/json has no error value for running out of input; its
		// message is the only sign, the same in v1 and under jsonv2.
		if strings.HasPrefix(se.Error(), "unexpected end of JSON input") {
			return fmt.Errorf("codec/json: truncated JSON: %w", err)
		}
		// No offset in the message: encoding/json counts it differently
		// with GOEXPERIMENT=jsonv2, and the message names the character.
		return fmt.Errorf("codec/json: not valid JSON: %w", err)
	}
	if err == nil {
		// json.Valid and Unmarshal disagree; say so rather than pass it.
		err = errors.New("rejected by json.Valid")
	}
	return fmt.Errorf("codec/json: not valid JSON: %w", err)
}

// parseType maps the raw JSON value of "type" to a packet type.
func parseType(val []byte) (core.PacketType, error) {
	if len(val) == 0 || val[0] != '"' {
		return core.TypeInvalid, fmt.Errorf(`codec/json: "type" must be a string, got %s`, kindOf(val, 0))
	}
	s := val[1 : len(val)-1]
	if bytes.IndexByte(s, '\\') >= 0 {
		u, err := unquote(val)
		if err != nil {
			return core.TypeInvalid, err
		}
		s = u
	}
	switch string(s) {
	case "KEY_REQ":
		return core.TypeKeyReq, nil
	case "KEY_REP":
		return core.TypeKeyRep, nil
	case "DATA":
		return core.TypeData, nil
	case "ACK":
		return core.TypeAck, nil
	}
	return core.TypeInvalid, fmt.Errorf(`codec/json: unknown packet type %s`, quoteShort(s))
}

// parseUint reads a sequence number: a JSON number made of digits only. JSON
// forbids leading zeros and json.Valid has checked that, so "0" is the only
// number that starts with 0.
func parseUint(field string, val []byte) (uint64, error) {
	if len(val) == 0 {
		return 0, errMalformed
	}
	c := val[0]
	if c == '-' {
		return 0, fmt.Errorf("codec/json: %q must be a non-negative integer, got negative %s", field, quoteShort(val))
	}
	if c < '0' || c > '9' {
		return 0, fmt.Errorf("codec/json: %q must be a non-negative integer, got %s", field, kindOf(val, 0))
	}
	if bytes.ContainsAny(val, ".eE") {
		// Python reads 1.0 and 1e3 as floats; the seed would echo them back.
		return 0, fmt.Errorf("codec/json: %q must be an integer, got %s (fraction or exponent)", field, quoteShort(val))
	}
	n, err := strconv.ParseUint(string(val), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("codec/json: %q out of range for uint64: %s", field, quoteShort(val))
	}
	return n, nil
}

// parsePayload decodes the base64 string value of "payload" into a fresh
// slice (non-nil, even when empty, so that the caller can tell it was there).
func parsePayload(val []byte) ([]byte, error) {
	if len(val) == 0 || val[0] != '"' {
		return nil, fmt.Errorf(`codec/json: "payload" must be a base64 string, got %s`, kindOf(val, 0))
	}
	s := val[1 : len(val)-1]
	if bytes.IndexByte(s, '\\') >= 0 {
		// No base64 character needs escaping, but JSON allows it (\/ is
		// common), and Python unescapes before decoding: do the same.
		u, err := unquote(val)
		if err != nil {
			return nil, err
		}
		s = u
	}
	// Raw control characters are not valid JSON, so line breaks can only have
	// come from escapes; Go's base64 decoder would silently skip them.
	if bytes.ContainsAny(s, "\r\n") {
		return nil, errors.New(`codec/json: "payload" contains a line break, not valid base64 here`)
	}
	out := make([]byte, b64.DecodedLen(len(s)))
	n, err := b64.Decode(out, s)
	if err != nil {
		return nil, fmt.Errorf(`codec/json: "payload" is not valid padded standard base64: %w`, err)
	}
	return out[:n], nil
}

// unquote decodes a JSON string literal that contains escapes. It is the slow
// path (it allocates), taken only for escaped keys and values, which no seed
// peer produces.
func unquote(lit []byte) ([]byte, error) {
	var s string
	if err := stdjson.Unmarshal(lit, &s); err != nil {
		return nil, fmt.Errorf("codec/json: bad string: %w", err)
	}
	return []byte(s), nil
}

// quoteShort quotes s for an error message, cut to a length a log can bear:
// the bytes come from whoever sent the datagram.
func quoteShort(s []byte) string {
	const max = 32
	if len(s) > max {
		return strconv.Quote(string(s[:max])) + "…"
	}
	return strconv.Quote(string(s))
}

// kindOf names the kind of the JSON value starting at b[i], for messages.
func kindOf(b []byte, i int) string {
	if i >= len(b) {
		return "nothing"
	}
	switch c := b[i]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return "something else"
}

// isWS reports whether c is JSON whitespace.
func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just past the string literal that starts at
// b[i], and whether it contains escapes; -1 if there is none. Skipping two
// bytes at a backslash is enough: no escape sequence contains a quote after
// its first character.
func stringEnd(b []byte, i int) (end int, escaped bool) {
	if i >= len(b) || b[i] != '"' {
		return -1, false
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, false
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
