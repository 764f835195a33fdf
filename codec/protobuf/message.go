package protobuf

import (
	"errors"
	"fmt"
	"time"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/packetpb"
)

// AppendMessage appends the encoding of m, a packetpb.Message, to dst:
// deterministic, as Append. kind is core.MessageKind's number; ts_ms is Unix
// milliseconds, 0 when Time is zero, so finer precision is lost, and so is
// Time's location: DecodeMessage gives UTC. ts_ms 0 also means no time on
// the way back, so a Time within the first millisecond of 1970 comes back
// zero. Origin is the server's bookkeeping and never goes on the wire.
// AppendMessage refuses what DecodeMessage would refuse (an unknown kind, a
// name of more than 64 bytes, a string that is not UTF-8, a time before
// 1970); on error dst is returned unchanged.
func (Codec) AppendMessage(dst []byte, m *core.Message) ([]byte, error) {
	if m == nil {
		return dst, errors.New("codec/protobuf: cannot encode a nil message")
	}
	if m.Kind > core.KindSession {
		return dst, fmt.Errorf("codec/protobuf: cannot encode message kind %d", m.Kind)
	}
	err := checkNames(m.From, m.To)
	if err == nil {
		err = core.CheckText(m.Text, "text", -1, fieldName)
	}
	if err == nil {
		err = core.CheckChannel(m.Room)
	}
	if err != nil {
		return dst, fmt.Errorf("codec/protobuf: cannot encode %w", err)
	}
	var ts int64
	if !m.Time.IsZero() {
		if m.Time.Before(core.MinMessageTime) || m.Time.After(core.MaxMessageTime) {
			return dst, fmt.Errorf("codec/protobuf: cannot encode message time %v: ts_ms holds 0 to 2^63-1 Unix milliseconds", m.Time)
		}
		ts = m.Time.UnixMilli()
	}
	pb := packetpb.Message{
		// core.MessageKind and packetpb.Kind share their numbering
		// (packet.proto; TestKindNumbering).
		Kind: packetpb.Kind(m.Kind),
		Id:   m.ID,
		From: m.From,
		To:   m.To,
		Room: m.Room,
		Text: m.Text,
		TsMs: ts,
	}
	out, err := marshal.MarshalAppend(dst, &pb)
	if err != nil {
		return dst, fmt.Errorf("codec/protobuf: encode message: %w", err)
	}
	return out, nil
}

// DecodeMessage parses the inner message b (the opened payload of a version
// 2 DATA) as strictly as Decode parses a datagram: well-formed to its last
// byte; each known field with its own wire type and at most once; kind a
// kind packet.proto names; from and to at most 64 bytes; strings UTF-8;
// ts_ms not negative; unknown fields skipped. Proto3 cannot tell an absent
// kind or text from chat and "", which codec/json requires to be present: an
// empty b is a chat message with no text, as AppendMessage encodes one. A b
// holding the bundle field is refused: it is a bundle, which DecodeMessages
// reads, and read as one message it would be an empty chat message. The
// payload was authenticated before it got here, but its sender may be
// hostile too.
func (Codec) DecodeMessage(b []byte) (*core.Message, error) {
	found, err := messageSchema.walk(b, "message")
	if err != nil {
		return nil, err
	}
	if found.known&(1<<fieldBundle) != 0 {
		return nil, errors.New("codec/protobuf: message is a bundle (field 15), not one message")
	}
	return decodeMessage(b)
}

// decodeMessage reads b, one message that the schema walk has accepted and
// that holds no bundle.
func decodeMessage(b []byte) (*core.Message, error) {
	var pb packetpb.Message
	if err := unmarshal.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("codec/protobuf: message: %w", err)
	}
	if pb.Kind < packetpb.Kind_KIND_CHAT || pb.Kind > packetpb.Kind_KIND_SESSION {
		return nil, fmt.Errorf("codec/protobuf: unknown message kind %d", int32(pb.Kind))
	}
	if err := checkNames(pb.From, pb.To); err != nil {
		return nil, fmt.Errorf("codec/protobuf: message has %w", err)
	}
	if err := core.CheckChannel(pb.Room); err != nil {
		return nil, fmt.Errorf("codec/protobuf: message has %w", err)
	}
	if pb.TsMs < 0 {
		return nil, fmt.Errorf("codec/protobuf: message has ts_ms %d, before 1970", pb.TsMs)
	}
	m := &core.Message{
		Kind: core.MessageKind(pb.Kind),
		ID:   pb.Id,
		From: pb.From,
		To:   pb.To,
		Room: pb.Room,
		Text: pb.Text,
	}
	if pb.TsMs != 0 {
		m.Time = time.UnixMilli(pb.TsMs).UTC()
	}
	return m, nil
}

// checkNames refuses a message's from or to that core's bounds refuse
// (core.CheckName: at most core.MaxName bytes, UTF-8).
func checkNames(from, to string) error {
	if err := core.CheckName(from, "from", -1, fieldName); err != nil {
		return err
	}
	return core.CheckName(to, "to", -1, fieldName)
}
