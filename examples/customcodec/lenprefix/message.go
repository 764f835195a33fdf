package lenprefix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/udpchat/udpchat/core"
)

// The flags: a message carries a time; a message carries a channel.
const (
	flagTime = 1
	flagRoom = 2
)

// AppendMessage appends the encoding of m to dst: Time as Unix milliseconds
// (finer precision and the location are lost: DecodeMessage gives UTC);
// Origin, the server's bookkeeping, never goes on the wire. It refuses,
// returning dst unchanged, what DecodeMessage would refuse: an unknown kind,
// a name longer than core.MaxName bytes, a string not UTF-8, a time before 1970.
func (Codec) AppendMessage(dst []byte, m *core.Message) ([]byte, error) {
	if m == nil {
		return dst, errors.New("lenprefix: cannot encode a nil message")
	}
	if err := checkMessage(m); err != nil {
		return dst, fmt.Errorf("lenprefix: cannot encode message: %w", err)
	}
	var flags byte
	if !m.Time.IsZero() {
		flags |= flagTime
	}
	if m.Room != "" {
		flags |= flagRoom
	}
	dst = append(dst, byte(m.Kind), flags)
	dst = binary.AppendUvarint(dst, m.ID)
	dst = appendField(dst, m.From)
	dst = appendField(dst, m.To)
	if flags&flagRoom != 0 {
		dst = appendField(dst, m.Room)
	}
	if flags&flagTime != 0 {
		dst = binary.AppendUvarint(dst, uint64(m.Time.UnixMilli()))
	}
	return appendField(dst, m.Text), nil
}

// checkMessage says why DecodeMessage would refuse m, or returns nil.
func checkMessage(m *core.Message) error {
	if m.Kind > core.KindSession {
		return fmt.Errorf("unknown kind %d", m.Kind)
	}
	if !m.Time.IsZero() && (m.Time.Before(core.MinMessageTime) || m.Time.After(core.MaxMessageTime)) {
		return fmt.Errorf("time %v: 0 to 2^63-1 Unix milliseconds", m.Time)
	}
	return errors.Join(core.CheckName(m.From, "from", -1, fieldName), core.CheckName(m.To, "to", -1, fieldName),
		core.CheckChannel(m.Room), core.CheckText(m.Text, "text", -1, fieldName))
}

// DecodeMessage parses the inner message b (the opened payload of a version
// 2 DATA) as strictly as Decode parses a datagram. Its sender was
// authenticated, but may be hostile all the same.
func (Codec) DecodeMessage(b []byte) (*core.Message, error) {
	m, err := decodeMessage(b)
	if err != nil {
		return nil, fmt.Errorf("lenprefix: message: %w", err)
	}
	return m, nil
}

func decodeMessage(b []byte) (*core.Message, error) {
	r := reader{b: b}
	m := &core.Message{Kind: core.MessageKind(r.byte("kind"))}
	flags := r.byte("flags")
	if r.err != nil {
		return nil, r.err
	}
	if m.Kind > core.KindSession {
		return nil, fmt.Errorf("unknown kind %d", m.Kind)
	}
	if flags&^(flagTime|flagRoom) != 0 {
		return nil, fmt.Errorf("unknown flags 0x%02x", flags&^(flagTime|flagRoom))
	}
	m.ID = r.uvarint("id")
	m.From = r.name("from")
	m.To = r.name("to")
	if flags&flagRoom != 0 {
		if m.Room = r.name("room"); r.err == nil && m.Room == "" {
			return nil, errors.New("room flag set, and no room")
		}
		if r.err == nil {
			if err := core.CheckChannel(m.Room); err != nil {
				return nil, err
			}
		}
	}
	if flags&flagTime != 0 {
		ms := r.uvarint("time")
		if ms > math.MaxInt64 {
			return nil, fmt.Errorf("time %d ms, beyond 2^63-1", ms)
		}
		m.Time = time.UnixMilli(int64(ms)).UTC()
	}
	m.Text = r.text("text", core.MaxDatagram)
	if err := r.end(); err != nil {
		return nil, err
	}
	return m, nil
}
