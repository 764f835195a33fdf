package core

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckRoom(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"lobby", true},
		{"a", true},
		{"0", true},
		{"room-1_b", true},
		{strings.Repeat("x", MaxRoom), true},
		{strings.Repeat("x", MaxRoom+1), false},
		{"", false},
		{"Lobby", false}, // case would collide on a case-insensitive disk
		{"a.b", false},   // a NATS subject token separator
		{"a*", false},    // a NATS wildcard
		{"a>", false},    // a NATS wildcard
		{"a b", false},
		{"a\tb", false},
		{"a/b", false},
		{`a\b`, false},
		{"-a", false},
		{"_a", false},
		{"café", false},
		{"a\x00", false},
	}
	for _, tt := range tests {
		err := CheckRoom(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("CheckRoom(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrRoomName) {
			t.Errorf("CheckRoom(%q) = %v, does not match ErrRoomName", tt.name, err)
		}
	}
}

func TestLogBoundsLen(t *testing.T) {
	if n := (LogBounds{Epoch: 1, First: 1, Next: 1}).Len(); n != 0 {
		t.Errorf("empty log: Len %d", n)
	}
	if n := (LogBounds{Epoch: 1, First: 5, Next: 9}).Len(); n != 4 {
		t.Errorf("5..8: Len %d, want 4", n)
	}
}

// FuzzCheckRoom: whatever name CheckRoom accepts is safe as a NATS subject
// token, a stream name and a file name, and fits; whatever it refuses, it
// refuses with ErrRoomName.
func FuzzCheckRoom(f *testing.F) {
	for _, s := range []string{"lobby", "", "a.b", "Lobby", "-x", strings.Repeat("z", MaxRoom+1), "a>*", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := CheckRoom(name)
		if err != nil {
			if !errors.Is(err, ErrRoomName) {
				t.Fatalf("CheckRoom(%q) = %v, does not match ErrRoomName", name, err)
			}
			return
		}
		if len(name) == 0 || len(name) > MaxRoom {
			t.Fatalf("CheckRoom accepted %q of %d bytes", name, len(name))
		}
		if strings.ContainsAny(name, ".*> \t\r\n/\\") || strings.ToLower(name) != name {
			t.Fatalf("CheckRoom accepted %q, unsafe as a subject token or a file name", name)
		}
		if name[0] == '-' || name[0] == '_' {
			t.Fatalf("CheckRoom accepted %q, which starts with %q", name, name[0])
		}
		for _, c := range []byte(name) {
			if c >= 0x80 || c < 0x20 {
				t.Fatalf("CheckRoom accepted %q with byte %#x", name, c)
			}
		}
	})
}
