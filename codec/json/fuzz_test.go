package json_test

import (
	"encoding/base64"
	stdjson "encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core"
)

// FuzzDecode feeds Decode arbitrary datagrams. It must never panic; whatever
// it accepts must survive Append and Decode again unchanged; and it must agree
// with refDecode, a slow reference built on encoding/json, on every input
// except those the codec refuses for a duplicate field (the reference, like
// Python, keeps the last one).
func FuzzDecode(f *testing.F) {
	for _, tc := range vectorCases(f) {
		f.Add([]byte(tc.wire))
	}
	for _, tc := range hostileCases() {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(`{"type": "KEY_REQ", "v": 2, "x": [{"a": "\"}"}], "payload": "AA=="}`))
	f.Add([]byte(`{"t\u0079pe": "D\u0041TA", "payload": "\/w=="}`))
	// Version 2: the golden forms, and shapes near the edges of the rules.
	for _, tt := range v2Forms {
		f.Add([]byte(tt.want))
	}
	f.Add([]byte(`{"type": "KEY_REQ", "nick": "a\ud83d\ude00\u00e9\n", "suites": ["\"]", "b"], "payload": ""}`))
	f.Add([]byte(`{"type": "KEY_REP", "v": 255, "sid": 18446744073709551615, "suite": "", "server_key": "\/w==", "sig": "", "payload": ""}`))
	f.Add([]byte(`{"type": "PING", "sid": 0, "suites": [ ]}`))
	f.Add([]byte(`{"type": "COOKIE", "cookie": "AQID"}`))

	var c json.Codec
	codectest.AddSeeds(f, c)
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := codectest.CheckDecode(t, c, in)
		ref, refOK := refDecode(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "codec/json: ") {
				t.Fatalf("error %q lacks the codec/json prefix", err)
			}
			if refOK && !strings.Contains(err.Error(), "duplicate") {
				t.Fatalf("Decode(%q) = %v, but the reference accepts it as %v", in, err, ref)
			}
			return
		}
		if !refOK {
			t.Fatalf("Decode(%q) = %v, but the reference refuses it", in, p)
		}
		if !codectest.SamePacket(p, ref) {
			t.Fatalf("Decode(%q) = %v, reference = %v", in, p, ref)
		}
		if enc, _ := c.Append(nil, p); !stdjson.Valid(enc) {
			t.Fatalf("Append produced invalid JSON: %s", enc)
		}
	})
}

var digitsOnly = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// refDecode states the decoding rules a second time, the slow and obvious
// way: encoding/json into a map (case-sensitive keys, the last duplicate
// wins), then one check per field.
func refDecode(b []byte) (*core.Packet, bool) {
	if !utf8.Valid(b) {
		return nil, false
	}
	var m map[string]stdjson.RawMessage
	if err := stdjson.Unmarshal(b, &m); err != nil || m == nil { // "null" gives a nil map
		return nil, false
	}
	str := func(raw stdjson.RawMessage) (string, bool) {
		var s string
		if len(raw) == 0 || raw[0] != '"' || stdjson.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	}
	num := func(raw stdjson.RawMessage) (uint64, bool) {
		if !digitsOnly.Match(raw) {
			return 0, false
		}
		n, err := strconv.ParseUint(string(raw), 10, 64)
		return n, err == nil
	}

	// name reads a version 2 string: no lone surrogate, at most max bytes.
	name := func(raw stdjson.RawMessage, max int) (string, bool) {
		s, ok := str(raw)
		return s, ok && !loneSurrogate(raw) && len(s) <= max
	}
	// key reads a base64 field of at most max bytes (max < 0: no bound).
	key := func(raw stdjson.RawMessage, max int) ([]byte, bool) {
		s, ok := str(raw)
		if !ok || strings.ContainsAny(s, "\r\n") {
			return nil, false
		}
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		return b, err == nil && (max < 0 || len(b) <= max)
	}

	var p core.Packet
	raw, ok := m["type"]
	if !ok {
		return nil, false
	}
	s, ok := str(raw)
	if !ok {
		return nil, false
	}
	switch s {
	case "KEY_REQ":
		p.Type = core.TypeKeyReq
	case "KEY_REP":
		p.Type = core.TypeKeyRep
	case "DATA":
		p.Type = core.TypeData
	case "ACK":
		p.Type = core.TypeAck
	case "PING":
		p.Type = core.TypePing
	case "PONG":
		p.Type = core.TypePong
	case "BYE":
		p.Type = core.TypeBye
	case "COOKIE":
		p.Type = core.TypeCookie
	default:
		return nil, false
	}
	if raw, ok := m["v"]; ok {
		v, ok := num(raw)
		if !ok || v > 255 {
			return nil, false
		}
		p.Version = uint8(v)
	}
	if raw, ok := m["sid"]; ok {
		if p.Session, ok = num(raw); !ok {
			return nil, false
		}
	}
	if raw, ok := m["nick"]; ok {
		if p.Nick, ok = name(raw, 64); !ok {
			return nil, false
		}
	}
	if raw, ok := m["suites"]; ok {
		var list []stdjson.RawMessage
		if raw[0] != '[' || stdjson.Unmarshal(raw, &list) != nil || len(list) > 16 {
			return nil, false
		}
		for _, e := range list {
			s, ok := name(e, 64)
			if !ok {
				return nil, false
			}
			p.Suites = append(p.Suites, s)
		}
	}
	if raw, ok := m["suite"]; ok {
		if p.Suite, ok = name(raw, 64); !ok {
			return nil, false
		}
	}
	if raw, ok := m["server_key"]; ok {
		if p.ServerKey, ok = key(raw, 256); !ok {
			return nil, false
		}
	}
	if raw, ok := m["sig"]; ok {
		if p.Sig, ok = key(raw, 256); !ok {
			return nil, false
		}
	}
	if raw, ok := m["cookie"]; ok {
		if p.Cookie, ok = key(raw, 256); !ok {
			return nil, false
		}
	}
	if raw, ok := m["client_key"]; ok {
		if p.ClientKey, ok = key(raw, 256); !ok {
			return nil, false
		}
	}
	if raw, ok := m["client_sig"]; ok {
		if p.ClientSig, ok = key(raw, 256); !ok {
			return nil, false
		}
	}
	if raw, ok := m["resume"]; ok {
		if p.Resume, ok = key(raw, 256); !ok || (len(p.Resume) != 0 && len(p.Resume) != core.ResumeLen) {
			return nil, false
		}
	}
	if raw, ok := m["seq"]; ok {
		if p.Seq, ok = num(raw); !ok {
			return nil, false
		}
		p.HasSeq = true
	}
	if raw, ok := m["ack_seq"]; ok {
		if p.AckSeq, ok = num(raw); !ok {
			return nil, false
		}
		p.HasAckSeq = true
	}
	if raw, ok := m["cum"]; ok {
		if p.Cum, ok = num(raw); !ok {
			return nil, false
		}
		p.HasCum = true
	}
	if raw, ok := m["payload"]; ok {
		if p.Payload, ok = key(raw, -1); !ok {
			return nil, false
		}
	} else if p.Type == core.TypeKeyReq || p.Type == core.TypeKeyRep || p.Type == core.TypeData {
		return nil, false
	}
	return &p, true
}

// loneSurrogate reports whether the JSON string literal raw (valid JSON,
// quotes included) holds a \u escape of half a UTF-16 surrogate pair whose
// other half is not the very next escape. encoding/json turns one into U+FFFD
// silently; the codec refuses it.
func loneSurrogate(raw []byte) bool {
	high := false // the previous code unit was an escaped high surrogate
	for i := 0; i < len(raw); i++ {
		var u uint64 = 'x' // a code unit that is no surrogate
		if raw[i] == '\\' {
			i++
			if raw[i] == 'u' {
				u, _ = strconv.ParseUint(string(raw[i+1:i+5]), 16, 16)
				i += 4
			}
		}
		switch {
		case u >= 0xd800 && u < 0xdc00:
			if high {
				return true
			}
			high = true
		case u >= 0xdc00 && u < 0xe000:
			if !high {
				return true
			}
			high = false
		default:
			if high {
				return true
			}
		}
	}
	return high
}

// FuzzDecodeMessage feeds DecodeMessage arbitrary inner messages. It must
// never panic; it must agree with refDecodeMessage except on duplicate
// fields; and what it accepts must round-trip: AppendMessage encodes it,
// DecodeMessage gives it back, and encoding that again gives the same bytes.
func FuzzDecodeMessage(f *testing.F) {
	for _, tt := range messageForms {
		f.Add([]byte(tt.want))
	}
	for _, tc := range hostileMessages() {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(`{"ts": 0, "text": "\ud83c\udf0d\u0000", "kind": "h\u0069story", "x": [{"}": "]"}]}`))

	var c json.Codec
	codectest.AddMessageSeeds(f, c)
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := codectest.CheckDecodeMessage(t, c, in)
		ref, refOK := refDecodeMessage(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "codec/json: ") {
				t.Fatalf("error %q lacks the codec/json prefix", err)
			}
			if refOK && !strings.Contains(err.Error(), "duplicate") {
				t.Fatalf("DecodeMessage(%q) = %v, but the reference accepts it as %+v", in, err, ref)
			}
			return
		}
		if !refOK {
			t.Fatalf("DecodeMessage(%q) = %+v, but the reference refuses it", in, m)
		}
		if !codectest.SameMessage(m, ref) {
			t.Fatalf("DecodeMessage(%q) = %+v, reference = %+v", in, m, ref)
		}
		if enc, _ := c.AppendMessage(nil, m); !stdjson.Valid(enc) {
			t.Fatalf("AppendMessage produced invalid JSON: %s", enc)
		}
	})
}

// refDecodeMessage states the message rules a second time, on encoding/json.
func refDecodeMessage(b []byte) (*core.Message, bool) {
	if !utf8.Valid(b) {
		return nil, false
	}
	var m map[string]stdjson.RawMessage
	if err := stdjson.Unmarshal(b, &m); err != nil || m == nil {
		return nil, false
	}
	str := func(raw stdjson.RawMessage, max int) (string, bool) {
		var s string
		if len(raw) == 0 || raw[0] != '"' || stdjson.Unmarshal(raw, &s) != nil || loneSurrogate(raw) {
			return "", false
		}
		return s, max < 0 || len(s) <= max
	}
	num := func(raw stdjson.RawMessage, max uint64) (uint64, bool) {
		if !digitsOnly.Match(raw) {
			return 0, false
		}
		n, err := strconv.ParseUint(string(raw), 10, 64)
		return n, err == nil && n <= max
	}

	var msg core.Message
	raw, ok := m["kind"]
	if !ok {
		return nil, false
	}
	kind, ok := str(raw, -1)
	if !ok {
		return nil, false
	}
	if msg.Kind, ok = core.ParseMessageKind(kind); !ok {
		return nil, false
	}
	raw, ok = m["text"]
	if !ok {
		return nil, false
	}
	if msg.Text, ok = str(raw, -1); !ok {
		return nil, false
	}
	if raw, ok := m["id"]; ok {
		if msg.ID, ok = num(raw, math.MaxUint64); !ok {
			return nil, false
		}
	}
	if raw, ok := m["from"]; ok {
		if msg.From, ok = str(raw, 64); !ok {
			return nil, false
		}
	}
	if raw, ok := m["to"]; ok {
		if msg.To, ok = str(raw, 64); !ok {
			return nil, false
		}
	}
	if raw, ok := m["room"]; ok {
		if msg.Room, ok = str(raw, core.MaxChannel); !ok || core.CheckChannel(msg.Room) != nil {
			return nil, false
		}
	}
	if raw, ok := m["ts"]; ok {
		ts, ok := num(raw, math.MaxInt64)
		if !ok {
			return nil, false
		}
		msg.Time = time.UnixMilli(int64(ts)).UTC()
	}
	return &msg, true
}
