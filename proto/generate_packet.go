package proto

//go:generate protoc --proto_path=. --go_out=. --go_opt=module=github.com/udpchat/udpchat/proto packet/v1/packet.proto
