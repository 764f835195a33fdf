// Package handlerpb is the Go code protoc generates from
// handler/v1/handler.proto: the handler plugin protocol between the udpchat
// server and its plugins. Only doc.go is written by hand; go generate in
// proto/ makes the rest.
package handlerpb
