package json

import (
	"encoding/binary"
	"fmt"
	"slices"
	"unicode/utf8"
)

// This file holds the strict scanner: one pass over the input that checks
// its syntax, byte for byte the grammar encoding/json.Valid accepts, checks
// that its strings are UTF-8, and picks out the known fields of the object
// it walks. Before it, every input went through json.Valid, utf8.Valid and
// then a walk of its own, three passes where one does, and json.Valid's
// state machine (a function call per byte) was most of the decoding time.
//
// The scanner decides; it does not explain. On a syntax error it gives the
// input to encoding/json for the message (syntaxError), which costs a second
// parse only of input that is refused anyway.

// maxDepth bounds the nesting of objects and arrays, the outermost counted
// as 1, as encoding/json bounds it (its maxNestingDepth): deeper input is a
// syntax error there, so it must be one here. The scanner does not recurse,
// so the bound is not what keeps it from overflowing the stack; it keeps the
// record of open containers (one byte each) small.
const maxDepth = 10000

// scanner is one pass over b. Its methods take the index where a token
// starts and return the index just past it, or -1 if b has no such token
// there: a syntax error, which ends the pass.
type scanner struct {
	b []byte
	// badUTF8 is set when a string holds bytes that are not UTF-8. It does
	// not end the pass: a syntax error later in b is the verdict then, as
	// it was when json.Valid ran before utf8.Valid.
	badUTF8 bool
}

// finish checks that only whitespace follows the value that ends at b[i]
// (i < 0: the value had a syntax error) and gives the verdict on the pass:
// a syntax error, else text that is not UTF-8, else err, the first refusal
// of what the walk read (a duplicate field, a bad bundle element), which
// the whole input being well-formed did not excuse. what names the input
// in errors ("datagram", "message", "bundle").
func (s *scanner) finish(i int, what string, err error) error {
	if i >= 0 {
		i = skipWS(s.b, i)
	}
	if i != len(s.b) {
		return syntaxError(s.b)
	}
	if s.badUTF8 {
		return fmt.Errorf("codec/json: %s is not valid UTF-8", what)
	}
	return err
}

// collect checks that b is one well-formed UTF-8 JSON object and stores the
// raw value of each known field names[i] in vals[i] (nil when absent; a
// present value is never empty). Unknown fields are skipped, whatever their
// value. what names the input in errors ("datagram", "message").
//
// A known field given twice is refused whatever its values: Python and
// encoding/json keep the last one, other parsers the first, so judging
// either alone would judge a value that another parser ignores. A syntax
// or UTF-8 error anywhere in b is the verdict before that one, so the pass
// reads all of b before it says "duplicate".
func collect(b []byte, what string, names []string, vals [][]byte) error {
	if len(b) == 0 {
		return fmt.Errorf("codec/json: empty %s", what)
	}
	s := scanner{b: b}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		if err := s.finish(s.value(i, 0), what, nil); err != nil {
			return err
		}
		return fmt.Errorf("codec/json: %s is not a JSON object but %s", what, kindOf(b, i))
	}
	end, err := s.object(i, 1, what, names, vals)
	return s.finish(end, what, err)
}

// object reads the object at b[i], which is '{', as collect describes;
// depth counts it and the objects and arrays around it. Besides its end it returns the first duplicate of a
// known field; the pass goes on after one, so that the caller can give the
// syntax error past it precedence.
func (s *scanner) object(i, depth int, what string, names []string, vals [][]byte) (int, error) {
	b := s.b
	var dup error
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		ks := i
		ke, esc := s.str(ks)
		if ke < 0 {
			return -1, nil
		}
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return -1, nil
		}
		vs := skipWS(b, i+1)
		ve := s.value(vs, depth)
		if ve < 0 {
			return -1, nil
		}
		if dup == nil {
			if f := fieldIndex(names, b[ks:ke], esc); f >= 0 {
				if vals[f] != nil {
					dup = fmt.Errorf("codec/json: duplicate %q field in %s", names[f], what)
				}
				vals[f] = b[vs:ve]
			}
		}
		i = skipWS(b, ve)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return i + 1, dup
		}
		return -1, nil
	}
}

// fieldIndex returns the index in names of the key whose string literal
// (quotes included) is lit, escaped if esc, or -1 if it is none of them.
// Keys are compared unescaped, as Python compares them, so "s\u0065q" is
// "seq". A key holding a lone surrogate escape matches nothing: every name
// is ASCII, and so is what the key would have to unescape to.
func fieldIndex(names []string, lit []byte, esc bool) int {
	key := lit[1 : len(lit)-1]
	if esc {
		u, err := unescape(key)
		if err != nil {
			return -1
		}
		return slices.Index(names, u)
	}
	for f, name := range names {
		if string(key) == name {
			return f
		}
	}
	return -1
}

// value returns the index just past the JSON value at b[i], which is inside
// depth objects and arrays.
func (s *scanner) value(i, depth int) int {
	if i < len(s.b) && (s.b[i] == '{' || s.b[i] == '[') {
		return s.container(i, depth)
	}
	return s.scalar(i)
}

// scalar returns the index just past the string, number or literal (true,
// false, null) at b[i]. What follows is its caller's to check: "01" is the
// number 0 followed by a byte that is no delimiter.
func (s *scanner) scalar(i int) int {
	b := s.b
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		end, _ := s.str(i)
		return end
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return number(b, i)
	}
	return -1
}

// container returns the index just past the object or array at b[i],
// inside depth others. It walks the nesting with a loop and a record of
// the containers open, not by recursion, so that a hostile input's depth
// costs a byte each, not a stack frame.
func (s *scanner) container(i, depth int) int {
	b := s.b
	// open holds the opening bracket of each container not yet closed.
	// Room for 64 on the stack covers any input but a hostile one.
	open := make([]byte, 0, 64)
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return -1
		}
		if c := b[i]; c == '{' || c == '[' {
			if depth+len(open) >= maxDepth {
				return -1
			}
			open = append(open, c)
			i = skipWS(b, i+1)
			if i >= len(b) || b[i] != closer(c) { // not empty: a member or element starts
				if c == '{' {
					i = s.key(i)
				}
				if i < 0 {
					return -1
				}
				continue
			}
			open = open[:len(open)-1]
			i++
		} else if i = s.scalar(i); i < 0 {
			return -1
		}
		// A value has ended at b[i]: close what it ends, up to the next
		// member or element.
		for {
			if len(open) == 0 {
				return i
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return -1
			}
			c := open[len(open)-1]
			if b[i] == ',' {
				i = skipWS(b, i+1)
				if c == '{' {
					i = s.key(i)
				}
				if i < 0 {
					return -1
				}
				break
			}
			if b[i] != closer(c) {
				return -1
			}
			open = open[:len(open)-1]
			i++
		}
	}
}

// closer returns the bracket that closes what open opens.
func closer(open byte) byte {
	if open == '{' {
		return '}'
	}
	return ']'
}

// key returns the index of the value of the object member whose key starts
// at b[i]: past the key, the colon and the whitespace around it.
func (s *scanner) key(i int) int {
	if i, _ = s.str(i); i < 0 {
		return -1
	}
	i = skipWS(s.b, i)
	if i >= len(s.b) || s.b[i] != ':' {
		return -1
	}
	return skipWS(s.b, i+1)
}

// str returns the index just past the string literal at b[i], and whether
// it holds escapes. It accepts what encoding/json does: any byte but '"',
// '\\' and the control characters, and the escapes \" \\ \/ \b \f \n \r \t
// and \u with four hex digits, whatever they encode (unescape judges that).
// Bytes that are not UTF-8 are noted in s.badUTF8; outside strings they are
// a syntax error anyway, so this is the whole of the UTF-8 check.
func (s *scanner) str(i int) (end int, escaped bool) {
	b := s.b
	if i >= len(b) || b[i] != '"' {
		return -1, false
	}
	for j := i + 1; ; {
		for j+8 <= len(b) && plain8(binary.LittleEndian.Uint64(b[j:])) {
			j += 8
		}
		// Among the next eight bytes is one to look at: go to it one by
		// one, rather than try eight at a time again for each byte.
		for j < len(b) && plain(b[j]) {
			j++
		}
		if j >= len(b) {
			return -1, false
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped
		case c == '\\':
			escaped = true
			if j+1 >= len(b) {
				return -1, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if _, ok := hex4(b, j+2); !ok {
					return -1, false
				}
				j += 6
			default:
				return -1, false
			}
		case c < 0x20:
			return -1, false
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				s.badUTF8 = true
			}
			j += size
		}
	}
}

// plain reports whether c is plain string content, as plain8 does of
// eight bytes.
func plain(c byte) bool { return c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' }

// plain8 reports whether the eight bytes of x are plain string content:
// ASCII, and none of them '"', '\\' or a control character. Strings are most
// of what the scanner reads (base64 payloads, chat text), and eight bytes
// at a time is several times faster than one: if x is ASCII, subtracting
// 0x20 from each byte, or 1 from a byte XORed with '"' or '\\', sets the
// byte's top bit exactly when it is one of those, and a top bit set in x
// itself is a byte beyond ASCII.
func plain8(x uint64) bool {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	return (x|(x-0x20*ones)|((x^'"'*ones)-ones)|((x^'\\'*ones)-ones))&tops == 0
}

// number returns the index just past the JSON number at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func number(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// digits returns the index of the first byte at or after i that is not a
// decimal digit.
func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// literal returns the index just past word (true, false or null) at b[i].
func literal(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}
