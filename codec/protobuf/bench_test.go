package protobuf_test

import (
	"testing"

	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core/coretest"
)

// The packet the server sends most, as docs/PERFORMANCE.md reports it.

func BenchmarkAppendDataV2(b *testing.B) {
	coretest.BenchmarkAppend(b, protobuf.Codec{}, coretest.DataV2())
}
func BenchmarkDecodeDataV2(b *testing.B) {
	coretest.BenchmarkDecode(b, protobuf.Codec{}, coretest.DataV2())
}
