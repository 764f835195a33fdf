// Package dice rolls dice for the example plugins: bot's "!roll NdM" and
// dice's "/roll NdM".
package dice

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Limits: enough for any table game, and an answer that fits in a
// datagram.
const (
	MaxDice  = 100
	MaxSides = 1000
	// listDice is the most dice whose every roll is listed; above it only
	// the total is.
	listDice = 10
)

// ErrSpec is the error of a spec that is not NdM within the limits.
var ErrSpec = errors.New("want NdM, with 1 <= N <= 100 dice and 2 <= M <= 1000 sides, e.g. 2d6")

// Roll rolls the dice of spec, "NdM", for who, and says what came up.
func Roll(who, spec string) (string, error) {
	ns, ms, ok := strings.Cut(strings.ToLower(spec), "d")
	n, errN := strconv.Atoi(ns)
	m, errM := strconv.Atoi(ms)
	if !ok || errN != nil || errM != nil || n < 1 || n > MaxDice || m < 2 || m > MaxSides {
		return "", ErrSpec
	}
	rolls := make([]string, n)
	total := 0
	for i := range n {
		r := 1 + rand.IntN(m)
		total += r
		rolls[i] = strconv.Itoa(r)
	}
	if n == 1 || n > listDice {
		return fmt.Sprintf("%s rolled %dd%d: %d", who, n, m, total), nil
	}
	return fmt.Sprintf("%s rolled %dd%d: %s = %d", who, n, m, strings.Join(rolls, " + "), total), nil
}
