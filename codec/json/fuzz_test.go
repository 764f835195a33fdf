package json_test

import (
	"bytes"
	"encoding/base64"
	stdjson "encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

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

	var c json.Codec
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		p, err := c.Decode(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("Decode modified its input")
		}
		ref, refOK := refDecode(in)
		if err != nil {
			if p != nil {
				t.Fatal("Decode returned a packet with its error")
			}
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
		if !samePacket(p, ref) {
			t.Fatalf("Decode(%q) = %v, reference = %v", in, p, ref)
		}
		// The packet must not alias the input.
		for i := range in {
			in[i] = 0
		}
		if !samePacket(p, ref) {
			t.Fatal("packet changed when the input was overwritten")
		}

		enc, err := c.Append(nil, p)
		if err != nil {
			t.Fatalf("Append(%v): %v", p, err)
		}
		if !stdjson.Valid(enc) {
			t.Fatalf("Append produced invalid JSON: %s", enc)
		}
		again, err := c.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Append(%v)) = %v (%s)", p, err, enc)
		}
		if !samePacket(again, p) {
			t.Fatalf("round trip: %v became %v", p, again)
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
	default:
		return nil, false
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
	if raw, ok := m["payload"]; ok {
		s, ok := str(raw)
		if !ok || strings.ContainsAny(s, "\r\n") {
			return nil, false
		}
		payload, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil {
			return nil, false
		}
		p.Payload = payload
	} else if p.Type != core.TypeAck {
		return nil, false
	}
	return &p, true
}
