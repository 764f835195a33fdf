package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/udpchat/udpchat/internal/testkit"
)

// TestSIGINT: the real binary logs its bound address when ready and stops
// cleanly, exit 0, on SIGINT.
func TestSIGINT(t *testing.T) {
	bin := testkit.Build(t, ".")
	p := testkit.Start(t, bin, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	p.WaitLog(t, regexp.MustCompile(`"server ready" addr=127\.0\.0\.1:[1-9]\d*`))
	log, err := p.Stop(t)
	if err != nil || !strings.Contains(log, "server stopped") {
		t.Fatalf("exit: %v; log:\n%s", err, log)
	}
}
