// Package archtest holds the test that keeps udpchat's layout true to
// docs/DESIGN.md: which package may import which. It has no code of its own.
package archtest
