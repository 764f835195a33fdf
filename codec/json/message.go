package json

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/udpchat/udpchat/core"
)

// Codec speaks the structured inner message of version 2 too.
var _ core.MessageCodec = Codec{}

// AppendMessage appends the JSON encoding of m to dst, in the style of
// Append (json.dumps separators, fixed field order):
//
//	{"kind": "chat", "id": 7, "from": "alice", "to": "bob", "room": "#go", "text": "hi", "ts": 1764331200123}
//
// kind is the kind's name; id is omitted when 0, "to" and "room" when empty, "ts" when
// Time is zero; "from" and "text" are always written, even when empty. ts is
// Unix milliseconds, so finer precision is lost, and so is Time's location:
// DecodeMessage gives UTC. Origin is the server's bookkeeping and never goes
// on the wire. AppendMessage refuses what DecodeMessage would refuse (an
// unknown kind, a name of more than 64 bytes, text that is not UTF-8, a time
// before 1970); on error dst is returned unchanged.
func (Codec) AppendMessage(dst []byte, m *core.Message) ([]byte, error) {
	if m == nil {
		return dst, errors.New("codec/json: cannot encode a nil message")
	}
	kind := m.Kind.String()
	if k, ok := core.ParseMessageKind(kind); !ok || k != m.Kind {
		return dst, fmt.Errorf("codec/json: cannot encode message kind %d", m.Kind)
	}
	err := core.CheckName(m.From, "from", -1, fieldName)
	if err == nil {
		err = core.CheckName(m.To, "to", -1, fieldName)
	}
	if err == nil {
		err = core.CheckText(m.Text, "text", -1, fieldName)
	}
	if err == nil {
		err = core.CheckChannel(m.Room)
	}
	if err != nil {
		return dst, fmt.Errorf("codec/json: cannot encode %w", err)
	}
	withTime := !m.Time.IsZero()
	if withTime && (m.Time.Before(core.MinMessageTime) || m.Time.After(core.MaxMessageTime)) {
		return dst, fmt.Errorf("codec/json: cannot encode message time %v: \"ts\" holds 0 to 2^63-1 Unix milliseconds", m.Time)
	}

	// Grow once for the usual message: field names and numbers take under
	// 120 bytes. Escapes (6 bytes for a control character) are rare enough
	// to be left to append rather than reserved for every byte of the text.
	dst = slices.Grow(dst, 120+len(m.From)+len(m.To)+len(m.Room)+len(m.Text))
	dst = append(dst, `{"kind": "`...)
	dst = append(dst, kind...)
	dst = append(dst, '"')
	if m.ID != 0 {
		dst = append(dst, `, "id": `...)
		dst = strconv.AppendUint(dst, m.ID, 10)
	}
	dst = append(dst, `, "from": `...)
	dst = appendString(dst, m.From)
	if m.To != "" {
		dst = append(dst, `, "to": `...)
		dst = appendString(dst, m.To)
	}
	if m.Room != "" {
		dst = append(dst, `, "room": `...)
		dst = appendString(dst, m.Room)
	}
	dst = append(dst, `, "text": `...)
	dst = appendString(dst, m.Text)
	if withTime {
		dst = append(dst, `, "ts": `...)
		dst = strconv.AppendInt(dst, m.Time.UnixMilli(), 10)
	}
	return append(dst, '}'), nil
}

// The known fields of a message, in the order DecodeMessage reads them.
const (
	mKind = iota
	mID
	mFrom
	mTo
	mRoom
	mText
	mTS
	nMessageFields
)

var messageFields = [nMessageFields]string{
	mKind: "kind", mID: "id", mFrom: "from", mTo: "to", mRoom: "room", mText: "text", mTS: "ts",
}

// DecodeMessage parses the inner message b (the opened payload of a version 2
// DATA) as strictly as Decode parses a datagram: one UTF-8 JSON object and
// nothing after it; "kind" a string naming a known kind; "text" a string,
// required, possibly empty; "from" and "to" strings of at most 64 bytes,
// "from" being empty when absent; "room" a channel name (core.CheckChannel); "id" and "ts" non-negative integers, ts at
// most 2^63-1; no \u escape of a lone UTF-16 surrogate; no known field twice;
// unknown fields ignored (an "origin" among them), so that later versions
// can add some. The payload was authenticated before it got here, but its
// sender may be hostile too.
func (Codec) DecodeMessage(b []byte) (*core.Message, error) {
	var vals [nMessageFields][]byte
	if err := collect(b, "message", messageFields[:], vals[:]); err != nil {
		return nil, err
	}
	return messageOf(&vals)
}

// messageOf reads the message whose raw field values collect found.
func messageOf(vals *[nMessageFields][]byte) (*core.Message, error) {
	var m core.Message
	for f, val := range vals {
		if val == nil {
			continue
		}
		var (
			err error
			ts  uint64
		)
		switch f {
		case mKind:
			m.Kind, err = parseKind(val)
		case mID:
			m.ID, err = parseUint("id", val)
		case mFrom:
			m.From, err = parseString("from", val, core.MaxName)
		case mTo:
			m.To, err = parseString("to", val, core.MaxName)
		case mRoom:
			if m.Room, err = parseString("room", val, core.MaxChannel); err == nil {
				if err = core.CheckChannel(m.Room); err != nil {
					err = fmt.Errorf("codec/json: message has %w", err)
				}
			}
		case mText:
			m.Text, err = parseString("text", val, -1)
		case mTS:
			ts, err = parseUintMax("ts", val, math.MaxInt64)
			m.Time = time.UnixMilli(int64(ts)).UTC()
		}
		if err != nil {
			return nil, err
		}
	}
	if vals[mKind] == nil {
		return nil, errors.New(`codec/json: message without "kind" field`)
	}
	if vals[mText] == nil {
		return nil, errors.New(`codec/json: message without "text" field`)
	}
	return &m, nil
}

// parseKind maps the raw JSON value of "kind" to a message kind.
func parseKind(val []byte) (core.MessageKind, error) {
	s, err := parseString("kind", val, -1)
	if err != nil {
		return 0, err
	}
	k, ok := core.ParseMessageKind(s)
	if !ok {
		return 0, fmt.Errorf("codec/json: unknown message kind %s", quoteShort([]byte(s)))
	}
	return k, nil
}
