package protobuf

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/udpchat/udpchat/core"
)

// The packet's wire format by hand, with protowire. The generated
// packetpb.Packet and the reflection-driven proto.Marshal and Unmarshal
// cost an allocation per Append and four per Decode, and most of the time
// of both; this writes and reads the same bytes directly. TestGoldenForms
// and TestSameAsProto check the bytes against proto.Marshal (deterministic)
// and the decoded packets against proto.Unmarshal.

// The field numbers of packet.proto's Packet.
const (
	fieldType      protowire.Number = 1
	fieldSeq       protowire.Number = 2
	fieldAckSeq    protowire.Number = 3
	fieldCum       protowire.Number = 4
	fieldPayload   protowire.Number = 5
	fieldVersion   protowire.Number = 6
	fieldSession   protowire.Number = 7
	fieldNick      protowire.Number = 8
	fieldSuites    protowire.Number = 9
	fieldSuite     protowire.Number = 10
	fieldServerKey protowire.Number = 11
	fieldSig       protowire.Number = 12
	fieldCookie    protowire.Number = 13
	fieldResume    protowire.Number = 14
	fieldClientKey protowire.Number = 15
	fieldClientSig protowire.Number = 16
)

// appendPacket appends the encoding of p, which Append has checked, as a
// deterministic proto.Marshal of the packetpb.Packet would: fields in number
// order; proto3 scalars, strings and bytes only when not zero or empty;
// seq, ack_seq and cum (optional) whenever present; each of the suites,
// even an empty one.
func appendPacket(dst []byte, p *core.Packet) []byte {
	dst = protowire.AppendTag(dst, fieldType, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(p.Type))
	if p.HasSeq {
		dst = protowire.AppendTag(dst, fieldSeq, protowire.VarintType)
		dst = protowire.AppendVarint(dst, p.Seq)
	}
	if p.HasAckSeq {
		dst = protowire.AppendTag(dst, fieldAckSeq, protowire.VarintType)
		dst = protowire.AppendVarint(dst, p.AckSeq)
	}
	if p.HasCum {
		dst = protowire.AppendTag(dst, fieldCum, protowire.VarintType)
		dst = protowire.AppendVarint(dst, p.Cum)
	}
	dst = appendBytes(dst, fieldPayload, p.Payload)
	if p.Version != 0 {
		dst = protowire.AppendTag(dst, fieldVersion, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(p.Version))
	}
	if p.Session != 0 {
		dst = protowire.AppendTag(dst, fieldSession, protowire.Fixed64Type)
		dst = protowire.AppendFixed64(dst, p.Session)
	}
	dst = appendString(dst, fieldNick, p.Nick)
	for _, s := range p.Suites {
		dst = protowire.AppendTag(dst, fieldSuites, protowire.BytesType)
		dst = protowire.AppendString(dst, s)
	}
	dst = appendString(dst, fieldSuite, p.Suite)
	dst = appendBytes(dst, fieldServerKey, p.ServerKey)
	dst = appendBytes(dst, fieldSig, p.Sig)
	dst = appendBytes(dst, fieldCookie, p.Cookie)
	dst = appendBytes(dst, fieldResume, p.Resume)
	dst = appendBytes(dst, fieldClientKey, p.ClientKey)
	return appendBytes(dst, fieldClientSig, p.ClientSig)
}

func appendBytes(dst []byte, num protowire.Number, b []byte) []byte {
	if len(b) == 0 {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendBytes(dst, b)
}

func appendString(dst []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendString(dst, s)
}

// decodePacket reads the fields of b, which packetSchema.check has accepted
// (well-formed, known fields of their own wire type, singular ones once,
// varints that fit, at most core.MaxSuites suites), as proto.Unmarshal into a
// packetpb.Packet would, skipping unknown fields. It returns the packet
// without its type and version, which come back as their wire values for
// Decode to judge. Like proto.Unmarshal, it refuses a string that is not
// UTF-8. What the packet holds is copied: it never aliases b.
func decodePacket(p *core.Packet, b, buf []byte) (typ int32, version uint32, err error) {
	for len(b) > 0 {
		num, wtyp, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, 0, errMalformed(num)
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, wtyp, b)
		if n < 0 {
			return 0, 0, errMalformed(num)
		}
		val := b[:n]
		b = b[n:]
		if int(num) >= len(packetSchema.fields) || packetSchema.fields[num].name == "" {
			continue // unknown: skipped
		}
		// The schema check has made sure of each wire type, so each value
		// parses; ConsumeFieldValue said so.
		switch num {
		case fieldType:
			v, _ := protowire.ConsumeVarint(val)
			typ = int32(v) // an enum: a sign-extended int32, which the check made sure of
		case fieldSeq:
			p.Seq, _ = protowire.ConsumeVarint(val)
			p.HasSeq = true
		case fieldAckSeq:
			p.AckSeq, _ = protowire.ConsumeVarint(val)
			p.HasAckSeq = true
		case fieldCum:
			p.Cum, _ = protowire.ConsumeVarint(val)
			p.HasCum = true
		case fieldPayload:
			v, _ := protowire.ConsumeBytes(val)
			if len(v) > 0 {
				p.Payload = append(buf[:0], v...)
			}
		case fieldVersion:
			v, _ := protowire.ConsumeVarint(val)
			version = uint32(v)
		case fieldSession:
			p.Session, _ = protowire.ConsumeFixed64(val)
		case fieldNick, fieldSuites, fieldSuite:
			v, _ := protowire.ConsumeBytes(val)
			if !utf8.Valid(v) {
				return 0, 0, fmt.Errorf("codec/protobuf: datagram: %s (field %d) is not valid UTF-8", packetSchema.fields[num].name, num)
			}
			switch num {
			case fieldNick:
				p.Nick = string(v)
			case fieldSuite:
				p.Suite = string(v)
			default:
				if p.Suites == nil {
					p.Suites = make([]string, 0, 2)
				}
				p.Suites = append(p.Suites, string(v))
			}
		case fieldServerKey, fieldSig, fieldCookie, fieldResume, fieldClientKey, fieldClientSig:
			// Each bounded like a key, the resume then held to exactly
			// core.ResumeLen by Decode's core.CheckV2.
			v, _ := protowire.ConsumeBytes(val)
			*keyField(p, num) = keyBytes(v)
		}
	}
	return typ, version, nil
}

// keyField is where decodePacket keeps the byte field num of p.
func keyField(p *core.Packet, num protowire.Number) *[]byte {
	switch num {
	case fieldServerKey:
		return &p.ServerKey
	case fieldSig:
		return &p.Sig
	case fieldCookie:
		return &p.Cookie
	case fieldResume:
		return &p.Resume
	case fieldClientKey:
		return &p.ClientKey
	default:
		return &p.ClientSig
	}
}

// keyBytes copies a server_key, sig, cookie, resume, client_key or
// client_sig, which Decode bounds afterwards. One
// of more than core.MaxKeyBytes is refused there, with its length, so it is not
// copied: the packet holding it is never returned.
func keyBytes(v []byte) []byte {
	if len(v) > core.MaxKeyBytes {
		return v
	}
	return copyBytes(v)
}

// copyBytes copies v; empty is nil, as proto.Unmarshal gives for a proto3
// bytes field written empty.
func copyBytes(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	return append(make([]byte, 0, len(v)), v...)
}

// errMalformed is what decodePacket says of wire format the schema check
// would have refused first; it cannot happen.
func errMalformed(num protowire.Number) error {
	return fmt.Errorf("codec/protobuf: datagram: field %d: malformed", num)
}
