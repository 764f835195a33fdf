package server_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every engine test ends with no goroutine left behind: servers, clients,
// read loops and timers all stop with their context.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
