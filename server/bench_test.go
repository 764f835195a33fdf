package server_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/transport/fault"
	"github.com/udpchat/udpchat/transport/memory"
)

// BenchmarkReliability measures what each reliability layer delivers over
// the in-memory transport with 10 ms of delay each way (a 20 ms round trip)
// and the given loss each way, with each layer's default window (the
// window layer's 128): one op is one message sent by a version 2 client
// and acknowledged by the server; msg/s is the goodput.
func BenchmarkReliability(b *testing.B) {
	for _, layer := range layers {
		for _, loss := range []float64{0, 0.05, 0.20} {
			b.Run(fmt.Sprintf("%s/loss=%g", layer.Name(), loss), func(b *testing.B) {
				faults := fault.Faults{Loss: loss, Delay: 10 * time.Millisecond}
				room := chattest.Start(b, chattest.Options{
					Network:     memory.NewNetwork(),
					Faults:      &fault.Config{Seed: 1, Send: faults, Receive: faults},
					Layer:       layer,
					Reliability: core.ReliabilityConfig{RTO: 100 * time.Millisecond, MaxRetries: 30, Queue: 1024},
					Server:      noRateLimit,
					Logger:      discard,
				})
				c := room.Join()
				b.ResetTimer()
				start := time.Now()
				ids := make([]uint64, 0, b.N)
				for i := range b.N {
					ids = append(ids, c.Say(fmt.Sprintf("message %d", i)))
				}
				c.WaitDelivered(ids...)
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
			})
		}
	}
}

var discard = slog.New(slog.DiscardHandler)
