package jetstream

import (
	"context"

	"github.com/nats-io/nats.go"

	"github.com/udpchat/udpchat/core"
)

// SetDropLive makes l drop the live messages drop returns true for, as
// core NATS may.
func SetDropLive(l *Log, drop func(room string, seq uint64) bool) { l.dropLive = drop }

// PublishWithID publishes m to room as Append does, with the message id
// id, and returns the offset the stream gave it and whether the stream
// took it for a duplicate.
func PublishWithID(l *Log, room string, data []byte, id string) (uint64, bool, error) {
	r, err := l.room(context.Background(), "publish", room)
	if err != nil {
		return 0, false, err
	}
	msg := nats.NewMsg(r.subject)
	msg.Data = data
	ack, err := l.publish(context.Background(), msg, id, r.stream)
	if err != nil {
		return 0, false, err
	}
	return ack.Sequence, ack.Duplicate, nil
}

// Encode is the stored form of m.
func Encode(m *core.Message) []byte { return appendMessage(nil, m) }
