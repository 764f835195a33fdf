package client_test

import (
	"testing"

	"github.com/udpchat/udpchat/client"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/reliability/stopwait"
	"github.com/udpchat/udpchat/reliability/window"
)

// noWindow is a receiver that cannot say its window.
type noWindow struct{ core.Receiver }

// TestAdvertisedWindow: a client's ACKs advertise its receiver's window
// less the events its application has yet to read, never below zero, and
// nothing when the receiver cannot say its window.
func TestAdvertisedWindow(t *testing.T) {
	win := window.Layer{}.NewReceiver(core.ReliabilityConfig{})
	for _, tc := range []struct {
		name   string
		recv   core.Receiver
		queued int
		want   uint32
		ok     bool
	}{
		{"window, read", win, 0, window.MinReceiveWindow, true},
		{"window, 100 unread", win, 100, window.MinReceiveWindow - 100, true},
		{"window, far behind", win, 200, 0, true},
		{"stop-and-wait", stopwait.Layer{}.NewReceiver(core.ReliabilityConfig{}), 0, 1, true},
		{"no window", noWindow{win}, 0, 0, false},
	} {
		got, ok := client.Advertised(tc.recv, tc.queued)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: advertised %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
