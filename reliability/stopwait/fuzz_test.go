package stopwait_test

import (
	"testing"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/reliabilitytest"
	"github.com/udpchat/udpchat/reliability/stopwait"
)

// layer is stop-and-wait as the shared fuzz harness sees it: one message in
// flight, and none held back, whatever the configured window.
var layer = reliabilitytest.Layer{
	Reliability: stopwait.Layer{},
	Window:      func(core.ReliabilityConfig) int { return 1 },
}

// FuzzSender runs programs of pushes, peer-chosen ACKs, polls and drains
// against the sender; reliabilitytest.FuzzSender lists what it checks.
func FuzzSender(f *testing.F) { reliabilitytest.FuzzSender(f, layer) }

// FuzzReceiver runs programs of arriving sequence numbers against the
// receiver; reliabilitytest.FuzzReceiver lists what it checks.
func FuzzReceiver(f *testing.F) { reliabilitytest.FuzzReceiver(f, layer) }
