package server_test

import (
	"testing"

	"go.uber.org/goleak"

	// The server opens the room log registered as "memory" by default.
	_ "github.com/udpchat/udpchat/roomlog/memory"
)

// Every engine test ends with no goroutine left behind: servers, clients,
// read loops and timers all stop with their context.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
