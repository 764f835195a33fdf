package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// table prints the rows as one markdown table, each figure for every loss
// in one cell, "a / b / c", as the issue quotes them.
type table struct {
	w      io.Writer
	losses []float64
	lines  []string
}

func newTable(w io.Writer, losses []float64) *table {
	return &table{w: w, losses: losses}
}

func (t *table) add(r row, res []*Result) {
	cell := func(f func(Result) string) string {
		parts := make([]string, len(res))
		for i, x := range res {
			parts[i] = "failed"
			if x != nil {
				parts[i] = f(*x)
			}
		}
		return strings.Join(parts, " / ")
	}
	t.lines = append(t.lines, fmt.Sprintf("| %s | %d | %d | %s | %s | %s | %s |", r.name, r.hops, r.window,
		cell(func(x Result) string { return thousands(x.Rate()) }),
		cell(func(x Result) string { return strconv.FormatFloat(x.TxPerMessage(), 'f', 2, 64) }),
		cell(func(x Result) string { return millis(x.P50) }),
		cell(func(x Result) string { return millis(x.P99) })))
}

func (t *table) flush() {
	loss := make([]string, len(t.losses))
	for i, l := range t.losses {
		loss[i] = strconv.FormatFloat(100*l, 'f', -1, 64) + "%"
	}
	at := "at " + strings.Join(loss, " / ") + " loss"
	fmt.Fprintf(t.w, "| | hops | window | msg/s %s | tx/msg | latency p50, ms | latency p99, ms |\n", at)
	fmt.Fprintln(t.w, "|---|---|---|---|---|---|---|")
	for _, l := range t.lines {
		fmt.Fprintln(t.w, l)
	}
}

// thousands is x rounded, with commas: 4,260.
func thousands(x float64) string {
	s := strconv.FormatInt(int64(x+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// millis is d in milliseconds: tenths below 10 ms, whole ones above.
func millis(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	if ms < 10 {
		return strconv.FormatFloat(ms, 'f', 1, 64)
	}
	return thousands(ms)
}
