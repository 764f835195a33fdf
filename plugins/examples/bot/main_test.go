package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestRoll(t *testing.T) {
	for _, spec := range []string{"1d2", "2d6", "10d1000", "100d1000", "3D4"} {
		got := roll("u1", spec)
		if !strings.HasPrefix(got, "u1 rolled "+strings.ToLower(spec)+": ") {
			t.Errorf("roll(%q) = %q", spec, got)
		}
	}
	if got := roll("u1", "100d1000"); !regexp.MustCompile(`: [0-9]+$`).MatchString(got) {
		t.Errorf("100 dice list every roll: %q", got)
	}
	for _, spec := range []string{"", "d6", "0d6", "101d6", "2d1", "2d1001", "-1d6", "2d", "xdy", "2d6d6", "1e2d6"} {
		if got := roll("u1", spec); got != rollUsage {
			t.Errorf("roll(%q) = %q, want the usage", spec, got)
		}
	}
}
