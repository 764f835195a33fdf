package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// maxRecipientsListed bounds the recipients the JSON report lists one by
// one; beyond it only their summary is given.
const maxRecipientsListed = 100

// RecipientFigures are what one receiving client saw of the other clients'
// messages.
type RecipientFigures struct {
	ID         int   `json:"id"`           // the client's index (its nickname is b<id>)
	Expected   int64 `json:"expected"`     // the other clients' acknowledged messages
	Received   int64 `json:"received"`     // of those, received (distinct)
	Lost       int64 `json:"lost"`         // expected - received
	Duplicates int64 `json:"duplicates"`   // arrivals of a message already received
	OutOfOrder int64 `json:"out_of_order"` // new messages behind a later one of the same sender
	// Gaps are the runs of consecutive acknowledged message numbers of one
	// sender that the recipient never received; LongestGap the longest.
	Gaps       int64 `json:"gaps"`
	LongestGap int64 `json:"longest_gap"`
	Unacked    int64 `json:"unacked_received"` // received, though never acknowledged to their sender
	// SessionEnded is set when the client's session ended before the bench
	// stopped it: the server gave up on it, or it on the server.
	SessionEnded bool `json:"session_ended"`
}

// add sums o's counts into r, and keeps the longer gap.
func (r *RecipientFigures) add(o RecipientFigures) {
	r.Expected += o.Expected
	r.Received += o.Received
	r.Lost += o.Lost
	r.Duplicates += o.Duplicates
	r.OutOfOrder += o.OutOfOrder
	r.Gaps += o.Gaps
	r.LongestGap = max(r.LongestGap, o.LongestGap)
	r.Unacked += o.Unacked
}

// Spread is a figure's minimum, median (nearest rank) and maximum across
// recipients.
type Spread struct {
	Min    int64 `json:"min"`
	Median int64 `json:"median"`
	Max    int64 `json:"max"`
}

// RecipientsSummary sums up the recipients: the clients owed at least one
// message, or that received one.
type RecipientsSummary struct {
	Recipients int    `json:"recipients"`
	Lost       Spread `json:"lost"`
	Duplicates Spread `json:"duplicates"`
	Gaps       Spread `json:"gaps"`
	LongestGap Spread `json:"longest_gap"`
	// Complete counts the recipients that received every message owed
	// them exactly once; SessionsEnded those whose session ended early.
	Complete      int `json:"complete"`
	SessionsEnded int `json:"sessions_ended"`
	// Worst is the recipient that lost most (then: most gaps, most
	// duplicates; the lowest id on a tie).
	Worst RecipientFigures `json:"worst"`
}

// gapsOf compares the messages owed (want) with those received (got): how
// many are missing, in how many runs of consecutive numbers, and the
// longest run. A number not in want (a message its sender never saw
// acknowledged) ends a run whether it arrived or not.
func gapsOf(want, got *seqSet) (missing, gaps, longest int) {
	run := 0
	end := func() {
		if run > 0 {
			gaps++
			longest = max(longest, run)
			run = 0
		}
	}
	for i, w := range want.bits {
		if i < len(got.bits) {
			w &^= got.bits[i]
		}
		if w == 0 {
			end()
			continue
		}
		missing += bits.OnesCount64(w)
		for b := range 64 {
			if w&(1<<b) != 0 {
				run++
			} else {
				end()
			}
		}
	}
	end()
	return missing, gaps, longest
}

// recipient reconciles what c received with what the other clients saw
// acknowledged. Call it after stop.
func (f *fleet) recipient(c *benchClient) RecipientFigures {
	r := RecipientFigures{ID: c.idx, SessionEnded: c.runErr != nil && !errors.Is(c.runErr, context.Canceled)}
	var none seqSet
	for _, s := range f.clients {
		got := c.recv[s.idx]
		if got == nil {
			got = &none
		}
		r.Duplicates += int64(got.dups)
		r.OutOfOrder += int64(got.ooo)
		if s == c {
			continue
		}
		ok := got.common(&s.acked)
		r.Expected += int64(s.acked.distinct)
		r.Received += int64(ok)
		r.Unacked += int64(got.distinct - ok)
		_, gaps, longest := gapsOf(&s.acked, got)
		r.Gaps += int64(gaps)
		r.LongestGap = max(r.LongestGap, int64(longest))
	}
	r.Lost = r.Expected - r.Received
	return r
}

// summarize gives the spread of rs's figures over the recipients among
// them, and the worst one; nil when there is none.
func summarize(rs []RecipientFigures) *RecipientsSummary {
	var in []RecipientFigures
	for _, r := range rs {
		if r.Expected > 0 || r.Received > 0 || r.Unacked > 0 || r.Duplicates > 0 {
			in = append(in, r)
		}
	}
	if len(in) == 0 {
		return nil
	}
	spread := func(v func(RecipientFigures) int64) Spread {
		xs := make([]int64, len(in))
		for i, r := range in {
			xs[i] = v(r)
		}
		slices.Sort(xs)
		return Spread{Min: xs[0], Median: xs[(len(xs)+1)/2-1], Max: xs[len(xs)-1]}
	}
	s := &RecipientsSummary{
		Recipients: len(in),
		Lost:       spread(func(r RecipientFigures) int64 { return r.Lost }),
		Duplicates: spread(func(r RecipientFigures) int64 { return r.Duplicates }),
		Gaps:       spread(func(r RecipientFigures) int64 { return r.Gaps }),
		LongestGap: spread(func(r RecipientFigures) int64 { return r.LongestGap }),
		Worst: slices.MinFunc(in, func(a, b RecipientFigures) int {
			return cmp.Or(cmp.Compare(b.Lost, a.Lost), cmp.Compare(b.Gaps, a.Gaps),
				cmp.Compare(b.Duplicates, a.Duplicates), cmp.Compare(a.ID, b.ID))
		}),
	}
	for _, r := range in {
		if r.Lost == 0 && r.Duplicates == 0 {
			s.Complete++
		}
		if r.SessionEnded {
			s.SessionsEnded++
		}
	}
	return s
}

func (s Spread) String() string { return fmt.Sprintf("%d/%d/%d", s.Min, s.Median, s.Max) }
