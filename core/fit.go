package core

import "math"

// MaxV1Prefix is the longest sender prefix a version 1 broadcast can carry:
// "<" + a bracketed IPv6 address and port + "> ".
const MaxV1Prefix = len("<[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535> ")

// MaxPlaintext returns the longest plaintext that, sealed by suite and sent in
// a packet shaped like hdr, still fits in MaxDatagram. The size of a datagram
// depends only on the length of what it carries, so a search over lengths
// with a dummy payload gives the exact bound for any codec and suite.
func MaxPlaintext(c Codec, s Suite, hdr Packet) int {
	fits := func(n int) bool {
		p := hdr
		p.Payload = make([]byte, n+s.Overhead(n))
		b, err := c.Append(nil, &p)
		return err == nil && len(b) <= MaxDatagram
	}
	lo, hi := -1, MaxDatagram // fits(lo) or lo == -1; !fits(hi)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// BroadcastHeader and ClientDataHeader are the largest headers of the two
// kinds of DATA in protocol version 1.
var (
	BroadcastHeader  = Packet{Type: TypeData}
	ClientDataHeader = Packet{Type: TypeData, Seq: math.MaxUint64, HasSeq: true}
)

// V2DataHeader is the largest header of a version 2 DATA.
var V2DataHeader = Packet{Type: TypeData, Session: math.MaxUint64, Seq: math.MaxUint64, HasSeq: true}
