package core

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MaxNick is the longest nickname, in bytes.
const MaxNick = 16

// reservedNames cannot be taken as nicknames: they would pass for the server
// or for everyone.
var reservedNames = []string{SystemSender, "system", "admin", "root", "udpchat", "all", "everyone", "nobody", "me"}

// FoldName is the form names are compared in: "Alice" and "alice" are one.
func FoldName(s string) string { return strings.ToLower(s) }

// CheckNick says why name cannot be a nickname, or returns nil: 1 to 16
// letters, digits, '-' or '_', starting with a letter, and not a reserved
// name. Starting with a letter keeps nicknames apart from the ip:port names
// of version 1 clients.
func CheckNick(name string) error {
	if name == "" {
		return errors.New("a nickname cannot be empty")
	}
	if len(name) > MaxNick {
		return fmt.Errorf("a nickname has at most %d characters, %q has %d", MaxNick, name, len(name))
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_')
		if !ok {
			if i == 0 {
				return fmt.Errorf("a nickname starts with a letter: %q", name)
			}
			return fmt.Errorf("a nickname has only letters, digits, '-' and '_': %q", name)
		}
	}
	if slices.Contains(reservedNames, FoldName(name)) {
		return fmt.Errorf("%q is reserved", name)
	}
	return nil
}
