package settle

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestUnsettled: what a forming cluster answers is asked again; what a
// settled one refuses is not.
func TestUnsettled(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&jetstream.APIError{ErrorCode: errNoSuitablePeers}, true},
		{fmt.Errorf("bucket: %w", &jetstream.APIError{ErrorCode: errNotAvailable}), true},
		{context.DeadlineExceeded, true},
		{nats.ErrNoResponders, true},
		{fmt.Errorf("read secret: %w: %w", ErrLagging, jetstream.ErrKeyNotFound), true},
		{jetstream.ErrKeyNotFound, false},
		{&jetstream.APIError{ErrorCode: 10058}, false}, // stream name in use
		{errors.New("permission denied"), false},
	} {
		if got := Unsettled(tt.err); got != tt.want {
			t.Errorf("Unsettled(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
