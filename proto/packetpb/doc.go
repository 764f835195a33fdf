// Package packetpb is the Go code protoc generates from
// packet/v1/packet.proto: the udpchat packet and inner message as the
// "protobuf" codec (codec/protobuf) puts them on the wire. Only doc.go is
// written by hand; go generate in proto/ makes the rest (generate_packet.go).
package packetpb
