package server_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/client"
)

// TestSeedLanesKeepOrder: seed clients all sending back to back, so that
// the seed lanes (one per core) seal and send their fan-outs while the
// handler worker takes the next message. Every client hears every other's
// messages once and in order, and a private message sent after a run of
// the room's comes after them, since both go through the recipient's lane.
func TestSeedLanesKeepOrder(t *testing.T) {
	const clients, each = 6, 40
	room := chattest.Start(t, chattest.Options{Server: noRateLimit,
		Suite:  seed.Suite{}, // version 1 has no other
		Client: func(cfg *client.Config) { cfg.MaxVersion = 1 }})
	cs := make([]*chattest.Client, clients)
	for i := range cs {
		cs[i] = room.Join()
	}
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	ids := make([][]uint64, clients)
	for i, c := range cs {
		wg.Go(func() {
			for k := range each {
				id, err := c.Send(ctx, strconv.Itoa(k))
				if err != nil {
					errs <- fmt.Errorf("client %d: message %d: %w", i, k, err)
					return
				}
				ids[i] = append(ids[i], id)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Once the server has taken all of them, a private message: the
	// recipient's lane has the room's messages to it queued before it.
	cs[0].WaitDelivered(ids[0]...)
	cs[0].WaitDelivered(cs[0].Say("/msg " + cs[1].Name() + " after the room's"))
	const private = "[private] after the room's" // as a seed client reads it
	for i, c := range cs {
		want := (clients - 1) * each
		if i == 1 {
			want++ // the private message
		}
		got := c.WaitChat(want)
		next := map[string]int{} // each sender's next number
		for n, m := range got {
			if m.Text == private {
				if i != 1 || next[m.From] != each {
					t.Errorf("client %d: private message %q from %s at %d of %d, after %d of its sender's %d",
						i, m.Text, m.From, n, len(got), next[m.From], each)
				}
				continue
			}
			k, err := strconv.Atoi(m.Text)
			if err != nil || k != next[m.From] {
				t.Fatalf("client %d: %q from %s, want %d: lost, duplicated or out of order\n%s",
					i, m.Text, m.From, next[m.From], strings.Join(v1Lines(got), "\n"))
			}
			next[m.From]++
		}
		if len(got) != want {
			t.Errorf("client %d: %d messages, want %d", i, len(got), want)
		}
	}
}
