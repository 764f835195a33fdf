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
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds what packets and messages share: the strict readers of the
// value types the protocol uses, which read the raw values the scanner
// (syntax.go) has picked out, and the string escaping of the encoder.

// errMalformed means a reader met a value the scanner had accepted but the
// reader did not expect. It should never happen; it exists so that it
// cannot turn into an index panic.
var errMalformed = errors.New("codec/json: malformed JSON object")

// syntaxError explains why b, which the scanner refused, is not JSON, in
// encoding/json's words. It is only called on the error path, so the second
// parse costs nothing normally, and it keeps the messages what they were
// when json.Valid made the decision.
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
		// The scanner and encoding/json disagree; say so rather than pass
		// it. FuzzSameAsValid is there so that this never happens.
		err = errors.New("refused by the codec's scanner, not by encoding/json")
	}
	return fmt.Errorf("codec/json: not valid JSON: %w", err)
}

// parseUint reads an unsigned integer field: a JSON number made of digits
// only. JSON forbids leading zeros and the scanner has checked that, so "0"
// is the only number that starts with 0.
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
	if digits(val, 0) != len(val) { // in a JSON number, a fraction or an exponent
		// Python reads 1.0 and 1e3 as floats; the seed would echo them back.
		return 0, fmt.Errorf("codec/json: %q must be an integer, got %s (fraction or exponent)", field, quoteShort(val))
	}
	n, err := strconv.ParseUint(string(val), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("codec/json: %q out of range for uint64: %s", field, quoteShort(val))
	}
	return n, nil
}

// parseUintMax is parseUint for a field with a smaller range.
func parseUintMax(field string, val []byte, max uint64) (uint64, error) {
	n, err := parseUint(field, val)
	if err == nil && n > max {
		err = fmt.Errorf("codec/json: %q must be at most %d, got %s", field, max, quoteShort(val))
	}
	return n, err
}

// parseBase64 decodes the base64 string value of field into a fresh slice
// (non-nil, even when empty, so that the caller can tell it was there). max
// bounds the decoded length; it is checked on the encoded length first, so
// that a hostile peer cannot make us allocate more. max < 0 means no bound.
func parseBase64(field string, val []byte, max int) ([]byte, error) {
	return parseBase64Into(nil, field, val, max)
}

// parseBase64Into is parseBase64, decoding into dst[:0]'s storage.
func parseBase64Into(dst []byte, field string, val []byte, max int) ([]byte, error) {
	if len(val) == 0 || val[0] != '"' {
		return nil, fmt.Errorf("codec/json: %q must be a base64 string, got %s", field, kindOf(val, 0))
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
		// Raw control characters are not valid JSON, so line breaks can
		// only have come from escapes (and only this branch needs to look
		// for them); Go's base64 decoder would silently skip them.
		if bytes.ContainsAny(s, "\r\n") {
			return nil, fmt.Errorf("codec/json: %q contains a line break, not valid base64 here", field)
		}
	}
	if max >= 0 && len(s) > base64.StdEncoding.EncodedLen(max) {
		return nil, fmt.Errorf("codec/json: %q is longer than %d bytes", field, max)
	}
	out := slices.Grow(dst[:0], b64.DecodedLen(len(s)))[:b64.DecodedLen(len(s))]
	n, err := b64.Decode(out, s)
	if err != nil {
		return nil, fmt.Errorf("codec/json: %q is not valid padded standard base64: %w", field, err)
	}
	if max >= 0 && n > max {
		return nil, fmt.Errorf("codec/json: %q is %d bytes, at most %d", field, n, max)
	}
	return out[:n], nil
}

// parseString reads a string field of at most max bytes once unescaped
// (max < 0: no bound).
func parseString(field string, val []byte, max int) (string, error) {
	if len(val) == 0 || val[0] != '"' {
		return "", fmt.Errorf("codec/json: %q must be a string, got %s", field, kindOf(val, 0))
	}
	return stringValue(field, -1, val, max)
}

// fieldName names a field, or entry idx of an array field (idx >= 0), in
// errors: "nick", "suites"[3]. It is only called on error paths, so building
// the name costs nothing when the input is good.
func fieldName(field string, idx int) string {
	if idx < 0 {
		return strconv.Quote(field)
	}
	return fmt.Sprintf("%q[%d]", field, idx)
}

// stringValue unescapes the JSON string literal lit, which the scanner has
// accepted, and checks that it has at most max bytes (max < 0: no bound).
func stringValue(field string, idx int, lit []byte, max int) (string, error) {
	if len(lit) < 2 {
		return "", errMalformed
	}
	s := lit[1 : len(lit)-1]
	var (
		out string
		err error
	)
	if bytes.IndexByte(s, '\\') < 0 {
		// The input is valid UTF-8 (or refused as a whole, whatever this
		// returns) and raw control characters are not valid JSON, so the
		// raw bytes are the string.
		out = string(s)
	} else if out, err = unescape(s); err != nil {
		if err == errMalformed {
			return "", err
		}
		return "", fmt.Errorf("codec/json: %s %w", fieldName(field, idx), err)
	}
	if max >= 0 && len(out) > max {
		return "", fmt.Errorf("codec/json: %s is %d bytes, at most %d", fieldName(field, idx), len(out), max)
	}
	return out, nil
}

// parseStrings reads an array of at most maxN strings of at most maxLen bytes
// each. An empty array gives nil: the encoder writes no field for it.
func parseStrings(field string, val []byte, maxN, maxLen int) ([]string, error) {
	if len(val) == 0 || val[0] != '[' {
		return nil, fmt.Errorf("codec/json: %q must be an array of strings, got %s", field, kindOf(val, 0))
	}
	var out []string
	i := skipWS(val, 1)
	if i < len(val) && val[i] == ']' {
		return nil, nil
	}
	for {
		if i >= len(val) || val[i] != '"' {
			return nil, fmt.Errorf("codec/json: %s must be a string, got %s", fieldName(field, len(out)), kindOf(val, i))
		}
		if len(out) == maxN {
			return nil, fmt.Errorf("codec/json: %q has more than %d entries", field, maxN)
		}
		end, _ := stringEnd(val, i)
		if end < 0 {
			return nil, errMalformed
		}
		s, err := stringValue(field, len(out), val[i:end], maxLen)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		i = skipWS(val, end)
		switch {
		case i < len(val) && val[i] == ',':
			i = skipWS(val, i+1)
		case i < len(val) && val[i] == ']':
			return out, nil
		default:
			return nil, errMalformed
		}
	}
}

// errLoneSurrogate is what unescape says of a \u escape of half a UTF-16
// surrogate pair without the other half.
var errLoneSurrogate = errors.New("holds an unpaired UTF-16 surrogate escape")

// unescape decodes the body s of a JSON string literal that holds escapes.
// The scanner has checked the escapes' syntax; unescape checks what it cannot:
// a \u escape of a UTF-16 surrogate must be the first half of a pair whose
// second half follows. encoding/json and Python accept a lone surrogate
// (Go as U+FFFD, Python as a str it cannot encode back to UTF-8); it names no
// character, so a string holding one is not text and is refused.
func unescape(s []byte) (string, error) {
	var out strings.Builder
	out.Grow(len(s)) // an escape is never shorter than what it stands for
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", errMalformed
		}
		switch s[i+1] {
		case '"', '\\', '/':
			out.WriteByte(s[i+1])
		case 'b':
			out.WriteByte('\b')
		case 'f':
			out.WriteByte('\f')
		case 'n':
			out.WriteByte('\n')
		case 'r':
			out.WriteByte('\r')
		case 't':
			out.WriteByte('\t')
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				return "", errMalformed
			}
			i += 6
			if utf16.IsSurrogate(r) {
				var r2 rune
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2, _ = hex4(s, i+2)
				}
				// DecodeRune gives U+FFFD unless r, r2 is a high-low pair;
				// a real pair never decodes to U+FFFD, a BMP character.
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", errLoneSurrogate
				}
				i += 6
			}
			out.WriteRune(r)
			continue
		default:
			return "", errMalformed
		}
		i += 2
	}
	return out.String(), nil
}

// hex4 reads the four hex digits of a \u escape at s[i:].
func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unquote decodes a JSON string literal that contains escapes, as Python
// does. It is the slow path (it allocates), taken only for escaped keys and
// base64 values, which no seed peer produces. A lone surrogate there becomes
// U+FFFD, which matches no field name and is no base64, so the strictness of
// unescape is not needed.
func unquote(lit []byte) ([]byte, error) {
	var s string
	if err := stdjson.Unmarshal(lit, &s); err != nil {
		return nil, fmt.Errorf("codec/json: bad string: %w", err)
	}
	return []byte(s), nil
}

// appendString appends s as a JSON string literal. s must be valid UTF-8
// (the callers check it first, so that what is encoded decodes).
//
// It escapes what JSON requires: '"', '\\' and the control characters, which
// it writes as \u00XX. Python's json.dumps would also write \n and the like
// as short escapes and, by default, every non-ASCII character as \uXXXX;
// here non-ASCII goes out as raw UTF-8, which is valid JSON and smaller.
// Only version 2 fields are strings of this kind, and no seed peer ever sees
// one, so there are no seed bytes to match.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
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
