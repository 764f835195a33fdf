package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Options are what every run of every row shares.
type Options struct {
	Messages int           // sent in each run
	Timeout  time.Duration // for each run
}

// row is one line of the table: an implementation over one or two hops.
type row struct {
	name   string
	hops   int
	window int
	run    func(Options, Link) (Result, error)
}

func rows() []row {
	return []row{
		{"kcp-go turbo, NoDelay(1, 10, 2, 1)", 1, kcpWindow, func(o Options, l Link) (Result, error) { return runKCP(o, l, kcpTurbo, 1) }},
		{"kcp-go turbo, NoDelay(1, 10, 2, 1), wide", 1, kcpTurboWide.window, func(o Options, l Link) (Result, error) { return runKCP(o, l, kcpTurboWide, 1) }},
		{"kcp-go fast, NoDelay(0, 30, 2, 1)", 1, kcpWindow, func(o Options, l Link) (Result, error) { return runKCP(o, l, kcpFast, 1) }},
		{"udpchat window layer, a message a DATA", 1, 128, func(o Options, l Link) (Result, error) { return runWindow(o, l, 128, false) }},
		{"udpchat window layer, bundling", 1, 128, func(o Options, l Link) (Result, error) { return runWindow(o, l, 128, true) }},
		{"kcp-go turbo, relayed", 2, kcpWindow, func(o Options, l Link) (Result, error) { return runKCP(o, l, kcpTurbo, 2) }},
		{"udpchat window relay (server)", 2, 128, func(o Options, l Link) (Result, error) { return runRelay(o, l, 128) }},
	}
}

func main() { os.Exit(benchMain(os.Args[1:], os.Stdout, os.Stderr)) }

func benchMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kcpref", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := Options{}
	var (
		seed   uint64
		quick  bool
		losses string
		delay  time.Duration
		only   string
	)
	fs.IntVar(&o.Messages, "n", 5000, "messages of 64 bytes in each run")
	fs.BoolVar(&quick, "quick", false, "a short run: 500 messages")
	fs.Uint64Var(&seed, "seed", 1, "the fault seed, the same for every row")
	fs.StringVar(&losses, "loss", "0,0.05,0.2", "the loss each way, one run each, comma-separated")
	fs.DurationVar(&delay, "delay", 10*time.Millisecond, "the delay each way")
	fs.StringVar(&only, "rows", "", "run only the rows whose name matches this regular expression")
	fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "the longest one run may take")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if quick {
		o.Messages = 500
	}
	lossList, err := parseLosses(losses)
	if err == nil && o.Messages < 1 {
		err = errors.New("-n: want at least 1 message")
	}
	var match *regexp.Regexp
	if err == nil {
		match, err = regexp.Compile(only)
	}
	if err != nil {
		fmt.Fprintln(stderr, "kcpref:", err)
		return 2
	}
	fmt.Fprintf(stdout, "%d messages of %d bytes a run, a saturating sender; %v each way and the loss each way on every hop; fault seed %d\n\n",
		o.Messages, MessageSize, delay, seed)
	t := newTable(stdout, lossList)
	failed := false
	for _, r := range rows() {
		if !match.MatchString(r.name) {
			continue
		}
		results := make([]*Result, len(lossList))
		for i, loss := range lossList {
			res, err := r.run(o, Link{Loss: loss, Delay: delay, Seed: seed})
			if err != nil {
				failed = true
				fmt.Fprintf(stderr, "%s, %d hop(s), window %d, loss %g: %v\n", r.name, r.hops, r.window, loss, err)
				continue
			}
			fmt.Fprintf(stderr, "%s, %d hop(s), window %d, loss %g: %.0f msg/s, %.3f tx/msg, p50 %v, p99 %v; %v\n",
				r.name, r.hops, r.window, loss, res.Rate(), res.TxPerMessage(), res.P50.Round(time.Millisecond), res.P99.Round(time.Millisecond), res.Repairs)
			results[i] = &res
		}
		t.add(r, results)
	}
	t.flush()
	if failed {
		return 1
	}
	return 0
}

func parseLosses(s string) ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(v >= 0 && v < 1) {
			return nil, fmt.Errorf("-loss: want probabilities from 0 to below 1, got %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}
