package server_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/chattest"
	"github.com/udpchat/udpchat/cipher/modern"
	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/internal/testkit"
	"github.com/udpchat/udpchat/server"
)

// TestSuiteShutsOutSeeds: a server whose suite seed clients cannot speak
// says so as it starts, and does not claim protocol 1; with the seed's
// suite it claims both and warns of nothing.
func TestSuiteShutsOutSeeds(t *testing.T) {
	for _, tt := range []struct {
		suite    core.Suite
		protocol string
		warns    bool
	}{
		{modern.Suite{}, "protocol=2", true},
		{seed.Suite{}, "protocol=1,2", false},
	} {
		t.Run(tt.suite.Name(), func(t *testing.T) {
			var logs testkit.Buffer
			room := chattest.Start(t, chattest.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Server: func(c *server.Config) { c.Suite = tt.suite }})
			room.Join() // the server is ready by then
			got := logs.String()
			if !strings.Contains(got, `msg="server ready"`) || !strings.Contains(got, tt.protocol) {
				t.Errorf("the server's log does not say %s:\n%s", tt.protocol, got)
			}
			if warned := strings.Contains(got, "seed (version 1) clients cannot connect"); warned != tt.warns {
				t.Errorf("warned %v, want %v:\n%s", warned, tt.warns, got)
			}
		})
	}
}
