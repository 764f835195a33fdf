// Package json implements the "json" codec: the seed's wire format of
// protocol version 1, byte for byte, and the fields protocol version 2 adds
// to it (docs/PROTOCOL.md; the project's contract in PROTOCOL.md "Version 2",
// "Codecs" and "Hostile input").
//
// A datagram is one UTF-8 JSON object. Version 1, as the seed sends it:
//
//	{"type": "KEY_REQ", "payload": "<base64>"}
//	{"type": "KEY_REP", "payload": "<base64>"}
//	{"type": "DATA", "seq": 0, "payload": "<base64>"}   client → server
//	{"type": "DATA", "payload": "<base64>"}             server broadcast
//	{"type": "ACK", "ack_seq": 3}
//
// Version 2 adds the types PING, PONG, BYE and COOKIE and the fields "v",
// "sid", "nick", "suites", "suite", "server_key", "sig", "cookie",
// "resume", "client_key" and "client_sig"; a
// version 1 peer ignores
// unknown fields, which is how the versions are told apart:
//
//	{"type": "KEY_REQ", "v": 2, "nick": "alice", "suites": ["x25519-chacha20-poly1305", "rsa-aes-cbc-hmac"], "payload": "<base64>"}
//	{"type": "KEY_REP", "v": 2, "sid": 81985529216486895, "nick": "alice", "suite": "x25519-chacha20-poly1305", "server_key": "<base64>", "sig": "<base64>", "payload": "<base64>"}
//	{"type": "DATA", "sid": 81985529216486895, "seq": 4, "payload": "<base64>"}
//	{"type": "PING", "sid": 81985529216486895, "payload": "<base64>"}
//	{"type": "COOKIE", "cookie": "<base64>"}                      a server under load
//	{"type": "KEY_REQ", "v": 2, "nick": "alice", "suites": […], "cookie": "<base64>", "payload": "<base64>"}
//	{"type": "KEY_REQ", "v": 2, "nick": "alice", "suites": […], "resume": "<base64>", "payload": "<base64>"}   a client resuming
//	{"type": "KEY_REQ", "v": 2, "nick": "alice", "suites": […], "client_key": "<base64>", "client_sig": "<base64>", "payload": "<base64>"}   a client with a key
//
// The inner message of version 2 (core.MessageCodec), the plaintext of a
// DATA between version 2 peers, is a JSON object too; see AppendMessage.
// Several of them in one DATA (core.Bundler) are a JSON array of such
// objects, a bundle; see AppendBundled and DecodeMessages.
//
// # Encoding
//
// The seed builds its datagrams with Python's json.dumps, whose default
// separators are ", " and ": ". Append reproduces those bytes exactly, field
// for field, so that a packet decoded from a seed peer re-encodes to the very
// bytes the seed sent, and writes the version 2 fields in the same style.
// Field order is: type, v (if Version is not 0), sid (if Session is not 0),
// seq (if HasSeq), ack_seq (if HasAckSeq), cum (if HasCum), nick, suites, suite, server_key,
// sig, cookie, resume, client_key, client_sig (each if not empty), payload. A packet without version 2 fields is
// therefore encoded exactly as version 1 encodes it. KEY_REQ, KEY_REP and
// DATA always carry "payload", even when it is empty; ACK, PING, PONG, BYE and
// COOKIE carry one only if their Payload is not empty. Byte fields (payload,
// server_key, sig, cookie, resume, client_key, client_sig) are standard base64 with padding; "sid" is a JSON integer,
// as Python writes any int. Strings (nick, suites, suite) escape '"', '\\'
// and the control characters (as \u00XX) and carry the rest as raw UTF-8,
// where json.dumps would write non-ASCII as \uXXXX: no seed peer ever sees
// these fields, so there are no seed bytes to match. Append refuses a packet
// that Decode would refuse (a nick that is too long or not UTF-8, too many
// suites, …), so that the error is the sender's, not a silent drop at the
// receiver.
//
// # Decoding
//
// Every datagram may be hostile, so Decode is strict and says why it refuses:
//
//   - the datagram must be valid UTF-8 and exactly one JSON object, with
//     nothing but whitespace after it;
//   - "type" must be a string naming KEY_REQ, KEY_REP, DATA, ACK, PING, PONG,
//     BYE or COOKIE;
//   - "seq", "ack_seq" and "sid", when present, must be JSON integers in
//     [0, 2^64-1] written without sign, fraction or exponent: 1.0, 1e3, -0,
//     "1", null and the like are refused (the seed echoed whatever it got; we
//     do not); "v" likewise, in [0, 255];
//   - "payload", "server_key", "sig", "cookie", "resume", "client_key" and
//     "client_sig" must be strings holding
//     standard base64 with padding and zero padding bits
//     (base64.StdEncoding.Strict); line breaks, which Go's decoder would
//     otherwise skip, are refused; server_key, sig, cookie, client_key and
//     client_sig decode to at
//     most 256 bytes (core.MaxKeyBytes), resume to exactly 56
//     (core.ResumeLen);
//   - "nick" and "suite" must be strings of at most 64 bytes (core.MaxName),
//     "suites" an array of at most 16 (core.MaxSuites) such strings; a \u escape of half a UTF-16
//     surrogate pair is refused, as it is no character;
//   - KEY_REQ, KEY_REP and DATA must have a payload; a DATA without seq is
//     accepted, because server broadcasts have none; whether a seq, a sid or
//     any version 2 field is required is the engine's decision, not the
//     codec's;
//   - unknown fields are ignored, whatever their value, so that a later
//     version can add fields as version 2 did;
//   - a known field that appears twice is refused, before any value is
//     judged, so the verdict does not depend on which copy is bad. Python
//     and encoding/json keep the last value, other parsers keep the first; a
//     packet that means different things to different parsers is a gift to
//     an attacker, and no seed peer ever sends one.
//
// Field names and strings are compared after JSON unescaping, as Python does,
// so "\u0073eq" is "seq"; names are case-sensitive, unlike encoding/json's
// struct matching. The length of a datagram is the transport's business
// (core.MaxDatagram); the codec bounds only the fields that a hostile peer
// could otherwise make the receiver keep or loop over.
package json

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/udpchat/udpchat/core"
)

// Name is the name the codec is registered and configured under.
const Name = "json"

// Codec is the JSON codec of protocol versions 1 and 2. The zero value is
// ready to use; it holds no state, so it is safe for concurrent use.
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

// needsPayload reports whether a packet of type t always carries "payload":
// the handshake and DATA do in version 1, where the seed requires it. The
// others carry one only when they have one (a version 2 ACK, PING, PONG or
// BYE is sealed, so it has one; a version 1 ACK never does).
func needsPayload(t core.PacketType) bool {
	return t == core.TypeKeyReq || t == core.TypeKeyRep || t == core.TypeData
}

// Append appends the encoding of p to dst; see the package documentation for
// the form. It is written by hand rather than with encoding/json because the
// bytes must match json.dumps exactly (separators, field order) and because
// it runs once per datagram sent. On error dst is returned unchanged.
func (Codec) Append(dst []byte, p *core.Packet) ([]byte, error) {
	if p == nil {
		return dst, errors.New("codec/json: cannot encode a nil packet")
	}
	switch p.Type {
	case core.TypeKeyReq, core.TypeKeyRep, core.TypeData, core.TypeAck,
		core.TypePing, core.TypePong, core.TypeBye, core.TypeCookie:
	default:
		return dst, fmt.Errorf("codec/json: cannot encode packet type %v", p.Type)
	}
	if err := core.CheckV2(p, fieldName); err != nil {
		return dst, fmt.Errorf("codec/json: cannot encode %w", err)
	}
	name := p.Type.String()
	withPayload := len(p.Payload) > 0 || needsPayload(p.Type)

	// Grow once: the version 1 header is at most ~60 bytes plus two 20-digit
	// numbers; the version 2 fields add their own length.
	n := 64 + len(name) + v2Len(p)
	if withPayload {
		n += base64.StdEncoding.EncodedLen(len(p.Payload))
	}
	dst = slices.Grow(dst, n)

	dst = append(dst, `{"type": "`...)
	dst = append(dst, name...)
	dst = append(dst, '"')
	if p.Version != 0 {
		dst = append(dst, `, "v": `...)
		dst = strconv.AppendUint(dst, uint64(p.Version), 10)
	}
	if p.Session != 0 {
		dst = append(dst, `, "sid": `...)
		dst = strconv.AppendUint(dst, p.Session, 10)
	}
	if p.HasSeq {
		dst = append(dst, `, "seq": `...)
		dst = strconv.AppendUint(dst, p.Seq, 10)
	}
	if p.HasAckSeq {
		dst = append(dst, `, "ack_seq": `...)
		dst = strconv.AppendUint(dst, p.AckSeq, 10)
	}
	if p.HasCum {
		dst = append(dst, `, "cum": `...)
		dst = strconv.AppendUint(dst, p.Cum, 10)
	}
	if p.Nick != "" {
		dst = append(dst, `, "nick": `...)
		dst = appendString(dst, p.Nick)
	}
	if len(p.Suites) > 0 {
		dst = append(dst, `, "suites": [`...)
		for i, s := range p.Suites {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendString(dst, s)
		}
		dst = append(dst, ']')
	}
	if p.Suite != "" {
		dst = append(dst, `, "suite": `...)
		dst = appendString(dst, p.Suite)
	}
	dst = appendBytesField(dst, `, "server_key": "`, p.ServerKey)
	dst = appendBytesField(dst, `, "sig": "`, p.Sig)
	dst = appendBytesField(dst, `, "cookie": "`, p.Cookie)
	dst = appendBytesField(dst, `, "resume": "`, p.Resume)
	dst = appendBytesField(dst, `, "client_key": "`, p.ClientKey)
	dst = appendBytesField(dst, `, "client_sig": "`, p.ClientSig)
	if withPayload {
		dst = append(dst, `, "payload": "`...)
		dst = base64.StdEncoding.AppendEncode(dst, p.Payload)
		dst = append(dst, '"')
	}
	dst = append(dst, '}')
	return dst, nil
}

// appendBytesField appends the byte field b as key (`, "name": "`) and
// its base64, if b is not empty: absent and empty are the same.
func appendBytesField(dst []byte, key string, b []byte) []byte {
	if len(b) == 0 {
		return dst
	}
	dst = append(dst, key...)
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// v2Len estimates the bytes the version 2 fields of p take, for growing the
// buffer once; it is 0 for a version 1 packet. Escapes in the strings (6
// bytes for a control character) are rare and left to append.
func v2Len(p *core.Packet) int {
	n := 0
	if p.Version != 0 || p.Session != 0 {
		n += 40 // `, "v": 255, "sid": 18446744073709551615`
	}
	if p.Nick != "" {
		n += 12 + len(p.Nick)
	}
	if len(p.Suites) > 0 {
		n += 14
		for _, s := range p.Suites {
			n += 4 + len(s)
		}
	}
	if p.Suite != "" {
		n += 13 + len(p.Suite)
	}
	if len(p.ServerKey) > 0 {
		n += 18 + base64.StdEncoding.EncodedLen(len(p.ServerKey))
	}
	if len(p.Sig) > 0 {
		n += 11 + base64.StdEncoding.EncodedLen(len(p.Sig))
	}
	if len(p.Cookie) > 0 {
		n += 14 + base64.StdEncoding.EncodedLen(len(p.Cookie))
	}
	if len(p.Resume) > 0 {
		n += 14 + base64.StdEncoding.EncodedLen(len(p.Resume))
	}
	if len(p.ClientKey) > 0 {
		n += 18 + base64.StdEncoding.EncodedLen(len(p.ClientKey))
	}
	if len(p.ClientSig) > 0 {
		n += 18 + base64.StdEncoding.EncodedLen(len(p.ClientSig))
	}
	return n
}

// The known fields of a packet, in the order Decode reads their values.
const (
	fType = iota
	fVersion
	fSession
	fSeq
	fAckSeq
	fCum
	fNick
	fSuites
	fSuite
	fServerKey
	fSig
	fCookie
	fResume
	fClientKey
	fClientSig
	fPayload
	nPacketFields
)

var packetFields = [nPacketFields]string{
	fType: "type", fVersion: "v", fSession: "sid", fSeq: "seq", fAckSeq: "ack_seq", fCum: "cum",
	fNick: "nick", fSuites: "suites", fSuite: "suite", fServerKey: "server_key", fSig: "sig",
	fCookie: "cookie", fResume: "resume", fClientKey: "client_key", fClientSig: "client_sig", fPayload: "payload",
}

// Decode parses one datagram; see the package documentation for what it
// accepts. The returned packet owns its payload and strings: it never
// aliases b.
func (c Codec) Decode(b []byte) (*core.Packet, error) { return core.DecodeNew(c, b) }

var _ core.DecoderTo = Codec{}

// DecodeTo is Decode into p, with the payload decoded into buf's storage.
func (Codec) DecodeTo(p *core.Packet, b, buf []byte) error {
	*p = core.Packet{}
	var vals [nPacketFields][]byte
	if err := collect(b, "datagram", packetFields[:], vals[:]); err != nil {
		return err
	}
	return packetOf(p, &vals, buf)
}

// packetOf fills p, which is zero, with the packet whose raw field values
// collect found, the payload decoded into buf's storage.
func packetOf(p *core.Packet, vals *[nPacketFields][]byte, buf []byte) error {
	for f, val := range vals {
		if val == nil {
			continue
		}
		var (
			err error
			v   uint64
		)
		switch f {
		case fType:
			p.Type, err = parseType(val)
		case fVersion:
			v, err = parseUintMax("v", val, 255)
			p.Version = uint8(v)
		case fSession:
			p.Session, err = parseUint("sid", val)
		case fSeq:
			p.Seq, err = parseUint("seq", val)
			p.HasSeq = true
		case fAckSeq:
			p.AckSeq, err = parseUint("ack_seq", val)
			p.HasAckSeq = true
		case fCum:
			p.Cum, err = parseUint("cum", val)
			p.HasCum = true
		case fNick:
			p.Nick, err = parseString("nick", val, core.MaxName)
		case fSuites:
			p.Suites, err = parseStrings("suites", val, core.MaxSuites, core.MaxName)
		case fSuite:
			p.Suite, err = parseString("suite", val, core.MaxName)
		case fServerKey:
			p.ServerKey, err = parseKeyBytes("server_key", val)
		case fSig:
			p.Sig, err = parseKeyBytes("sig", val)
		case fCookie:
			p.Cookie, err = parseKeyBytes("cookie", val)
		case fResume:
			p.Resume, err = parseResume(val)
		case fClientKey:
			p.ClientKey, err = parseKeyBytes("client_key", val)
		case fClientSig:
			p.ClientSig, err = parseKeyBytes("client_sig", val)
		case fPayload:
			// Non-nil even when empty: present and empty is legal.
			p.Payload, err = parseBase64Into(buf, "payload", val, -1)
			if p.Payload == nil {
				p.Payload = []byte{}
			}
		}
		if err != nil {
			return err
		}
	}
	if vals[fType] == nil {
		return errors.New(`codec/json: missing "type" field`)
	}
	if vals[fPayload] == nil && needsPayload(p.Type) {
		return fmt.Errorf(`codec/json: %v without "payload" field`, p.Type)
	}
	return nil
}

// parseKeyBytes reads "server_key", "sig", "cookie", "client_key" or
// "client_sig". Empty is the same as absent
// (nil), as the encoder writes no field for it.
func parseKeyBytes(field string, val []byte) ([]byte, error) {
	b, err := parseBase64(field, val, core.MaxKeyBytes)
	if len(b) == 0 {
		b = nil
	}
	return b, err
}

// parseResume reads "resume": empty is absent, as for the keys; anything
// else is exactly core.ResumeLen bytes, which core.CheckV2 holds every codec
// to (its error is worded here as a decode error).
func parseResume(val []byte) ([]byte, error) {
	b, err := parseKeyBytes("resume", val)
	if err == nil && len(b) != 0 && len(b) != core.ResumeLen {
		err = fmt.Errorf(`codec/json: "resume" is %d bytes, want %d`, len(b), core.ResumeLen)
	}
	return b, err
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
	case "PING":
		return core.TypePing, nil
	case "PONG":
		return core.TypePong, nil
	case "BYE":
		return core.TypeBye, nil
	case "COOKIE":
		return core.TypeCookie, nil
	}
	return core.TypeInvalid, fmt.Errorf(`codec/json: unknown packet type %s`, quoteShort(s))
}

var _ core.Sniffer = Codec{}

// Sniff reports whether a datagram is JSON: an object, so its first byte
// past any white space is '{', which no protobuf packet can start with.
func (Codec) Sniff(b []byte) bool {
	for _, c := range b {
		if !isWS(c) {
			return c == '{'
		}
	}
	return false
}
