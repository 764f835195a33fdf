package client_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every client test ends with no goroutine left behind: the servers and
// clients chattest starts, their read loops and their timers all stop with
// their context.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
