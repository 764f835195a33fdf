package plugins

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/udpchat/udpchat/core"
)

// BenchmarkPluginChain measures what plugins cost a message: the handler
// chain with no plugin, with one (the filter) and with three (filter, bot,
// archiver), each a real process called over gRPC, through to a terminal
// handler that does nothing.
func BenchmarkPluginChain(b *testing.B) {
	dir := b.TempDir()
	filter := Config{Name: "filter", Path: bin(b, "filter"), Config: map[string]string{"words": "darn,heck"}}
	bot := Config{Name: "bot", Path: bin(b, "bot")}
	archiver := Config{Name: "archiver", Path: bin(b, "archiver"), Config: map[string]string{"path": filepath.Join(dir, "archive.jsonl")}}
	for _, bc := range []struct {
		name string
		cfgs []Config
	}{
		{"plugins=0", nil},
		{"plugins=1", []Config{filter}},
		{"plugins=3", []Config{filter, bot, archiver}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := range bc.cfgs {
				// A failure must show, not pass for fail-open.
				bc.cfgs[i].FailClosed = true
			}
			set, err := StartAll(context.Background(), bc.cfgs, new(LateRoom), slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			defer set.Close()
			h := core.Chain(core.HandlerFunc(func(context.Context, *core.Message) error { return nil }), set.Middlewares()...)
			ctx := context.Background()
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				m := core.Message{Kind: core.KindChat, ID: 1, From: "u1", Text: "hello there, how is everyone today?", Time: now}
				if err := h.HandleMessage(ctx, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
