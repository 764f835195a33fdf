package metrics_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test left a goroutine behind: a listener that
// did not shut down.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
