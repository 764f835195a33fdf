//go:build !race

package modern_test

const raceEnabled = false
