// Package settle retries what a JetStream cluster that is still forming
// refuses: the first things a server asks of JetStream (a bucket, a
// secret) often meet a meta leader that knows only some of its peers, or
// a request that goes unanswered while one is elected.
package settle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream's error codes of a cluster that is still forming.
const (
	errNoSuitablePeers jetstream.ErrorCode = 10005 // fewer peers known than replicas asked for
	errNotAvailable    jetstream.ErrorCode = 10008 // JetStream temporarily unavailable
)

// ErrLagging marks an answer from a node that has not yet caught up with
// the cluster: a key the leader says exists, not found on the replica that
// answered a read. Wrapped in an error, it makes that error Unsettled.
var ErrLagging = errors.New("a replica has not caught up yet")

// Unsettled says whether err is of a cluster still forming, which asking
// again later may cure.
func Unsettled(err error) bool {
	if errors.Is(err, ErrLagging) {
		return true
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.ErrorCode == errNoSuitablePeers || api.ErrorCode == errNotAvailable
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders)
}

// Retry calls try until it succeeds, fails for another reason than an
// unsettled cluster, or ctx ends. Each attempt has its own deadline, from
// 2 s doubling to 16 s, so that one unanswered request does not eat ctx's
// whole time; each retry is logged to log as what.
func Retry(ctx context.Context, log *slog.Logger, what string, try func(context.Context) error) error {
	wait := 2 * time.Second
	for {
		c, cancel := context.WithTimeout(ctx, wait)
		err := try(c)
		cancel()
		if err == nil || ctx.Err() != nil || !Unsettled(err) {
			return err
		}
		log.Warn("JetStream not settled, asking again", "what", what, "err", err)
		t := time.NewTimer(wait / 8)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (last: %w)", what, ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, 16*time.Second)
	}
}
