package main

import (
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// A bench message's text is "B<sender> <seq> <unixnano> " and padding up
// to the size asked for: what a receiver needs to tell who sent it, spot
// duplicates and gaps, and measure its latency. Only printable ASCII, which
// the server relays as is.
const padding = "................................................................"

// formatMessage returns the text of message seq from sender, sent at now,
// padded with dots to size bytes (never shorter than its header).
func formatMessage(sender, seq int, now time.Time, size int) string {
	var b strings.Builder
	b.Grow(max(size, 48))
	b.WriteByte('B')
	b.WriteString(strconv.Itoa(sender))
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(seq))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(now.UnixNano(), 10))
	b.WriteByte(' ')
	for b.Len() < size {
		b.WriteString(padding[:min(len(padding), size-b.Len())])
	}
	return b.String()
}

// parseMessage reads what formatMessage wrote; ok is false for any other
// text (the server's notices, another client's chat).
func parseMessage(text string) (sender, seq int, sent time.Time, ok bool) {
	rest, found := strings.CutPrefix(text, "B")
	if !found {
		return 0, 0, time.Time{}, false
	}
	var f [3]string
	for i := range f {
		if f[i], rest, found = strings.Cut(rest, " "); !found {
			return 0, 0, time.Time{}, false
		}
	}
	s, err1 := strconv.Atoi(f[0])
	q, err2 := strconv.Atoi(f[1])
	ns, err3 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || s < 0 || q < 0 {
		return 0, 0, time.Time{}, false
	}
	return s, q, time.Unix(0, ns), true
}

// seqSet records the sequence numbers received from one sender.
type seqSet struct {
	bits     []uint64
	max      int // highest seq seen
	distinct int
	dups     int // arrivals of a seq already seen
	ooo      int // new seqs that came behind a higher one
}

// arrival classifies seq: new, a duplicate, or new but behind a higher one
// already seen (out of order). It records it.
func (s *seqSet) arrival(seq int) (dup, outOfOrder bool) {
	w := seq / 64
	if w >= len(s.bits) {
		s.bits = append(s.bits, make([]uint64, w+1-len(s.bits))...)
	}
	bit := uint64(1) << (seq % 64)
	if s.bits[w]&bit != 0 {
		s.dups++
		return true, false
	}
	s.bits[w] |= bit
	s.distinct++
	ooo := seq < s.max
	if ooo {
		s.ooo++
	}
	s.max = max(s.max, seq)
	return false, ooo
}

// has reports whether seq was received.
func (s *seqSet) has(seq int) bool {
	w := seq / 64
	return w < len(s.bits) && s.bits[w]&(1<<(seq%64)) != 0
}

// common counts the seqs in both s and o.
func (s *seqSet) common(o *seqSet) int {
	n := 0
	for i := range min(len(s.bits), len(o.bits)) {
		n += bits.OnesCount64(s.bits[i] & o.bits[i])
	}
	return n
}
