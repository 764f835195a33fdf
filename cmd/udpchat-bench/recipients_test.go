package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// seqs returns the numbers from lo to hi, both included.
func seqs(lo, hi int) []int {
	var s []int
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}

// TestRecipientFigures feeds a recipient (client 0) sequences of
// deliveries from senders 1 and 2 and checks what it is said to have
// lost, received twice, and the gaps it saw.
func TestRecipientFigures(t *testing.T) {
	type msg struct{ sender, seq int }
	from1 := func(ns ...int) []msg {
		m := make([]msg, len(ns))
		for i, n := range ns {
			m[i] = msg{1, n}
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		acked map[int][]int // by sender: the numbers it saw acknowledged
		got   []msg         // what the recipient received, in order
		want  RecipientFigures
	}{
		{"the issue's example", map[int][]int{1: seqs(1, 8)}, from1(1, 2, 3, 5, 5, 8),
			RecipientFigures{Expected: 8, Received: 5, Lost: 3, Duplicates: 1, Gaps: 2, LongestGap: 2}},
		{"all, in order", map[int][]int{1: seqs(0, 9)}, from1(seqs(0, 9)...),
			RecipientFigures{Expected: 10, Received: 10}},
		{"all, two swapped, one twice", map[int][]int{1: seqs(0, 3)}, from1(0, 2, 1, 3, 3),
			RecipientFigures{Expected: 4, Received: 4, Duplicates: 1, OutOfOrder: 1}},
		{"none", map[int][]int{1: seqs(0, 99)}, nil,
			RecipientFigures{Expected: 100, Lost: 100, Gaps: 1, LongestGap: 100}},
		{"the tail, over a word of the set", map[int][]int{1: seqs(0, 129)}, from1(seqs(0, 59)...),
			RecipientFigures{Expected: 130, Received: 60, Lost: 70, Gaps: 1, LongestGap: 70}},
		{"a gap across a word boundary", map[int][]int{1: seqs(0, 99)}, from1(append(seqs(0, 62), seqs(70, 99)...)...),
			RecipientFigures{Expected: 100, Received: 93, Lost: 7, Gaps: 1, LongestGap: 7}},
		{"the first and the last", map[int][]int{1: seqs(0, 127)}, from1(seqs(1, 126)...),
			RecipientFigures{Expected: 128, Received: 126, Lost: 2, Gaps: 2, LongestGap: 1}},
		{"one never acknowledged arrives", map[int][]int{1: seqs(0, 4)}, from1(0, 1, 2, 3, 4, 5),
			RecipientFigures{Expected: 5, Received: 5, Unacked: 1}},
		{"one never acknowledged ends a gap", map[int][]int{1: {0, 1, 2, 4, 5}}, from1(0),
			RecipientFigures{Expected: 5, Received: 1, Lost: 4, Gaps: 2, LongestGap: 2}},
		{"two senders", map[int][]int{1: seqs(0, 9), 2: seqs(0, 9)},
			append(from1(0, 1, 2, 6, 7, 8, 9, 9), msg{2, 0}, msg{2, 9}, msg{2, 9}, msg{2, 5}),
			RecipientFigures{Expected: 20, Received: 10, Lost: 10, Duplicates: 2, OutOfOrder: 1, Gaps: 3, LongestGap: 4}},
		{"its own messages are not owed to it", map[int][]int{0: seqs(0, 9), 1: seqs(0, 1)}, from1(0, 1),
			RecipientFigures{Expected: 2, Received: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fleet{}
			for i := range 3 {
				c := &benchClient{f: f, idx: i, recv: make(map[int]*seqSet)}
				for _, n := range tc.acked[i] {
					c.acked.arrival(n)
				}
				f.clients = append(f.clients, c)
			}
			r := f.clients[0]
			for _, m := range tc.got {
				s := r.recv[m.sender]
				if s == nil {
					s = new(seqSet)
					r.recv[m.sender] = s
				}
				s.arrival(m.seq)
			}
			if got := f.recipient(r); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestSummarize: the median is the nearest rank (of four, the second).
func TestSummarize(t *testing.T) {
	rs := []RecipientFigures{
		{ID: 0}, // a sender owed nothing: not a recipient
		{ID: 1, Expected: 10, Received: 10},
		{ID: 2, Expected: 10, Received: 7, Lost: 3, Gaps: 1, LongestGap: 3, SessionEnded: true},
		{ID: 3, Expected: 10, Received: 7, Lost: 3, Gaps: 2, LongestGap: 2, Duplicates: 5},
		{ID: 4, Expected: 10, Received: 10, Duplicates: 1},
	}
	s := summarize(rs)
	if s == nil {
		t.Fatal("no summary")
	}
	want := RecipientsSummary{Recipients: 4, Lost: Spread{0, 0, 3}, Duplicates: Spread{0, 0, 5}, Gaps: Spread{0, 0, 2},
		LongestGap: Spread{0, 0, 3}, Complete: 1, SessionsEnded: 1, Worst: rs[3]}
	if *s != want {
		t.Errorf("got  %+v\nwant %+v", *s, want)
	}
	if s := summarize(rs[:1]); s != nil {
		t.Errorf("no recipient, summary %+v", s)
	}
}

// TestFaultFlags: each fault flag is checked, and a bad value is a one-line
// error naming it and exit status 2.
func TestFaultFlags(t *testing.T) {
	o, err := parseFlags(strings.Fields("-loss 0.2 -dup 0.05 -reorder 0.05 -delay 10ms -jitter 2ms -fault-seed 7"), io.Discard, false)
	if err != nil {
		t.Fatal(err)
	}
	if f := o.Faults; f.Loss != 0.2 || f.Duplicate != 0.05 || f.Reorder != 0.05 || f.Delay != 10*time.Millisecond ||
		f.Jitter != 2*time.Millisecond || o.FaultSeed != 7 {
		t.Errorf("faults %+v seed %d", f, o.FaultSeed)
	}
	if c := faultConfigOf(o.Faults, o.FaultSeed); *c != (FaultConfig{Loss: 0.2, Duplicate: 0.05, Reorder: 0.05, DelayMS: 10, JitterMS: 2, Seed: 7}) {
		t.Errorf("config %+v", *c)
	}
	for _, tc := range []struct{ args, flag string }{
		{"-loss 1.5", "-loss"},
		{"-loss -0.1", "-loss"},
		{"-loss NaN", "-loss"},
		{"-dup 2", "-dup"},
		{"-reorder -1", "-reorder"},
		{"-delay -1ms", "-delay"},
		{"-jitter -5ms", "-jitter"},
		{"handshake -loss 0.1", "-loss"},
		{"floor -delay 1ms", "-delay"},
	} {
		var stderr bytes.Buffer
		code := benchMain(context.Background(), strings.Fields(tc.args), io.Discard, &stderr, false)
		msg := stderr.String()
		if code != 2 || !strings.Contains(msg, tc.flag) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line naming %s", tc.args, code, msg, tc.flag)
		}
	}
	if clientSeed(1, 0) == clientSeed(1, 1) || clientSeed(1, 1) == clientSeed(2, 0) {
		t.Error("clients' fault seeds collide")
	}
}

// TestRelayFaults runs a short relay with every client behind the fault
// transport: the report must have the per-recipient figures and the
// faults, and each total must be the sum over the recipients.
func TestRelayFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, last, summary := runBench(ctx, t, strings.Fields("-server inproc -n 3 -m 20 -size 64 -keys 2 -floor=false -drain 5s -timeout 100s "+
		"-loss 0.1 -delay 5ms -retries 10 -hs-rto 100ms"))
	x := r.Relay
	if !r.OK || x == nil || x.PerRecipient == nil || len(x.Recipients) != 3 || r.Faults == nil || r.Config.Faults == nil {
		t.Fatalf("incomplete result: %s", last)
	}
	if c := *r.Config.Faults; c.Loss != 0.1 || c.DelayMS != 5 || c.Seed != 1 {
		t.Errorf("config.faults %+v", c)
	}
	if r.Faults.Send.Dropped+r.Faults.Receive.Dropped == 0 || r.Faults.Send.Delayed == 0 {
		t.Errorf("the fault transport did nothing: %+v", *r.Faults)
	}
	if x.Sent != 60 || x.Acked+x.Failed != 60 {
		t.Errorf("sent %d, acked %d, failed %d; want 60 sent, each acked or failed", x.Sent, x.Acked, x.Failed)
	}
	var sum RecipientFigures
	for _, p := range x.Recipients {
		sum.add(p)
	}
	total := RecipientFigures{Expected: x.Expected, Received: x.Deliveries, Lost: x.Lost, Duplicates: x.Duplicates,
		OutOfOrder: x.OutOfOrder, Gaps: x.Gaps, Unacked: x.Unacked, LongestGap: x.LongestGap}
	if sum != total || x.Expected != 2*x.Acked {
		t.Errorf("sum over recipients %+v\ntotals               %+v (acked %d)", sum, total, x.Acked)
	}
	if p := x.PerRecipient; p.Recipients != 3 || p.Lost.Max != x.Recipients[p.Worst.ID].Lost || p.Lost.Max < p.Lost.Median ||
		p.Worst.Lost != p.Lost.Max || p.Complete > 3 {
		t.Errorf("per_recipient %+v", *p)
	}
	// The new field names, as scripts read them.
	var top map[string]json.RawMessage
	json.Unmarshal(last, &top)
	var relay, config map[string]json.RawMessage
	json.Unmarshal(top["relay"], &relay)
	json.Unmarshal(top["config"], &config)
	if x.ServerSessionsEnded == nil || *x.ServerSessionsEnded != 0 {
		t.Errorf("server_sessions_ended %v, want 0", x.ServerSessionsEnded)
	}
	for _, k := range []string{"gaps", "longest_gap", "per_recipient", "recipients", "lost", "duplicates", "server_sessions_ended"} {
		if _, ok := relay[k]; !ok {
			t.Errorf("relay has no %q", k)
		}
	}
	if _, ok := config["faults"]; !ok {
		t.Error("config has no faults")
	}
	if _, ok := top["faults"]; !ok {
		t.Error("result has no faults")
	}
	if !strings.Contains(summary, "per recipient") || !strings.Contains(summary, "faults on every client") {
		t.Errorf("summary lacks the new lines:\n%s", summary)
	}
}

// TestSummarizeBrokers: rounds of a comparison are gathered by broker, in
// the order each first ran, each with the median of its runs and that
// median's fraction of the first broker's; an incomplete run counts for
// nothing.
func TestSummarizeBrokers(t *testing.T) {
	run := func(broker string, perSec, cpu float64) *Result {
		return &Result{Config: &RunConfig{Broker: broker}, Server: &ServerInfo{CPU: cpu},
			Relay: &RelayResult{Deliveries: 1_000_000, DeliveriesPerSec: perSec}}
	}
	got := summarizeBrokers([]*Result{
		run("memory", 200, 4), run("embedded", 150, 6),
		run("memory", 100, 5), run("embedded", 160, 7),
		run("memory", 190, 3), {Config: &RunConfig{Broker: "embedded"}, Error: "died"},
	})
	want := []BrokerSummary{
		{Broker: "memory", Runs: 3, DeliveriesPerSec: 190, MinDeliveriesPerSec: 100, MaxDeliveriesPerSec: 200, CPUPerDeliveryUS: 4, OfFirst: 1},
		{Broker: "embedded", Runs: 2, DeliveriesPerSec: 155, MinDeliveriesPerSec: 150, MaxDeliveriesPerSec: 160, CPUPerDeliveryUS: 6.5, OfFirst: 0.816},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("summarizeBrokers =\n%+v\nwant\n%+v", got, want)
	}
}
