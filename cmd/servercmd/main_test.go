package servercmd_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test left a goroutine behind: a server, its
// admin listener or a client that did not stop.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
