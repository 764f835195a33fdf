// Package proto holds udpchat's protobuf definitions and, in subpackages,
// the Go code generated from them, which is committed so that a build needs
// no protoc: handler/v1/handler.proto, the handler plugin protocol, is
// package handlerpb. README.md says how to regenerate it and with which
// tool versions.
package proto

//go:generate protoc --proto_path=. --go_out=. --go_opt=module=github.com/udpchat/udpchat/proto --go-grpc_out=. --go-grpc_opt=module=github.com/udpchat/udpchat/proto handler/v1/handler.proto
