package protobuf

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/proto/packetpb"
)

// This file holds the walk over the fields of an encoding that Decode and
// DecodeMessage make before they unmarshal it. It refuses what a protobuf
// decoder accepts silently but codec/json refuses (see the package
// documentation): a known field with the wrong wire type (the decoder would
// skip it as unknown), a singular field given twice (the decoder would keep
// the last), a varint the decoder would truncate, and more repeated values
// than the bound. Running first, it also keeps the decoder from allocating
// for a list it would refuse anyway.

// wireField is what the walk knows of one known field.
type wireField struct {
	name protoreflect.Name // "" for a field number the message does not use
	wire protowire.Type
	kind protoreflect.Kind
	list bool
}

// schema is the walk's view of one message type: its fields by number.
type schema struct {
	fields []wireField
	// maxList bounds the values of each repeated field.
	maxList int
}

var (
	packetSchema = schemaOf((&packetpb.Packet{}).ProtoReflect().Descriptor(), core.MaxSuites)
	// A Message's one repeated field is bundle: the walk bounds a bundle at
	// core.MaxBundle entries before anything is decoded.
	messageSchema = schemaOf((&packetpb.Message{}).ProtoReflect().Descriptor(), core.MaxBundle)
)

// schemaOf derives the schema of md from its descriptor, so that it cannot
// disagree with packet.proto. It panics on what check does not handle: a
// field number above 63 (the walk keeps a bitmask) or a repeated scalar
// (which may be packed, and so take two wire types).
func schemaOf(md protoreflect.MessageDescriptor, maxList int) *schema {
	s := &schema{maxList: maxList}
	fds := md.Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		num := int(fd.Number())
		if num > 63 {
			panic(fmt.Sprintf("codec/protobuf: %s: field number %d too large for the walk", md.FullName(), num))
		}
		f := wireField{name: fd.Name(), kind: fd.Kind(), list: fd.IsList()}
		switch fd.Kind() {
		case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
			f.wire = protowire.Fixed64Type
		case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
			f.wire = protowire.Fixed32Type
		case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
			f.wire = protowire.BytesType
		case protoreflect.GroupKind:
			f.wire = protowire.StartGroupType
		default:
			f.wire = protowire.VarintType
		}
		if f.list && f.wire != protowire.BytesType {
			panic(fmt.Sprintf("codec/protobuf: %s: repeated scalar field %s not supported by the walk", md.FullName(), fd.Name()))
		}
		for len(s.fields) <= num {
			s.fields = append(s.fields, wireField{})
		}
		s.fields[num] = f
	}
	return s
}

// check walks the fields of b, a whole encoding of the schema's message,
// and refuses it if it is malformed or breaks one of the rules above. what
// names the input in errors ("datagram", "message").
func (s *schema) check(b []byte, what string) error {
	_, err := s.walk(b, what)
	return err
}

// met is what a walk found in an encoding it accepted, for a caller whose
// rules depend on which fields are there: a bundle holds its own field and
// no other.
type met struct {
	known   uint64 // the known fields, by number
	unknown bool   // whether there was an unknown field
}

// walk is check, saying which fields it met.
func (s *schema) walk(b []byte, what string) (met, error) {
	var (
		found met
		seen  uint64  // the singular fields met so far, by number
		count [64]int // the values met so far of each repeated field
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return met{}, fmt.Errorf("codec/protobuf: %s: bad field tag: %w", what, protowire.ParseError(n))
		}
		if !num.IsValid() {
			// ConsumeTag takes numbers up to 2^32-1; protobuf allows
			// 2^29-1, and proto.Unmarshal refuses the rest.
			return met{}, fmt.Errorf("codec/protobuf: %s: field number %d out of range", what, num)
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return met{}, fmt.Errorf("codec/protobuf: %s: field %d: %w", what, num, protowire.ParseError(n))
		}
		val := b[:n]
		b = b[n:]

		if int(num) >= len(s.fields) || s.fields[num].name == "" {
			found.unknown = true
			continue // unknown: skipped, for the versions to come
		}
		f := &s.fields[num]
		if typ != f.wire {
			return met{}, fmt.Errorf("codec/protobuf: %s: %s (field %d) has wire type %s, not %s",
				what, f.name, num, wireName(typ), wireName(f.wire))
		}
		found.known |= 1 << num
		if f.list {
			if int(count[num]) >= s.maxList {
				return met{}, fmt.Errorf("codec/protobuf: %s: more than %d values of %s", what, s.maxList, f.name)
			}
			count[num]++
			continue
		}
		if seen&(1<<num) != 0 {
			return met{}, fmt.Errorf("codec/protobuf: %s: duplicate %s (field %d)", what, f.name, num)
		}
		seen |= 1 << num
		if typ == protowire.VarintType {
			v, _ := protowire.ConsumeVarint(val) // well-formed: ConsumeFieldValue said so
			if !fits(f.kind, v) {
				return met{}, fmt.Errorf("codec/protobuf: %s: %s (field %d) = %d is out of range for %v", what, f.name, num, v, f.kind)
			}
		}
	}
	return found, nil
}

// fits reports whether the 64-bit varint v is a value of kind as it is,
// rather than after the truncation protobuf decoders apply: an enum or int32
// is a sign-extended 32-bit number, a uint32 a 32-bit one.
func fits(kind protoreflect.Kind, v uint64) bool {
	switch kind {
	case protoreflect.EnumKind, protoreflect.Int32Kind:
		return int64(v) >= math.MinInt32 && int64(v) <= math.MaxInt32
	case protoreflect.Uint32Kind:
		return v <= math.MaxUint32
	case protoreflect.BoolKind:
		return v <= 1
	}
	return true
}

// wireName names a wire type for errors.
func wireName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "varint"
	case protowire.Fixed32Type:
		return "fixed32"
	case protowire.Fixed64Type:
		return "fixed64"
	case protowire.BytesType:
		return "bytes"
	case protowire.StartGroupType:
		return "group"
	case protowire.EndGroupType:
		return "end-group"
	}
	return fmt.Sprintf("%d", t)
}
