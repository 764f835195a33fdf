package main

import "testing"

func TestRollUsage(t *testing.T) {
	if got := roll("u1", "0d6"); got != rollUsage {
		t.Errorf("roll(0d6) = %q, want the usage", got)
	}
}
