package protobuf_test

import (
	"testing"

	"github.com/udpchat/udpchat/codec/protobuf"
	"github.com/udpchat/udpchat/core/coretest"
)

// The codec's benchmarks, the same for every codec (core/coretest), as
// docs/PERFORMANCE.md reports them.

func BenchmarkAppend(b *testing.B) { coretest.BenchmarkAppend(b, protobuf.Codec{}, coretest.DataV1()) }
func BenchmarkDecode(b *testing.B) { coretest.BenchmarkDecode(b, protobuf.Codec{}, coretest.DataV1()) }

func BenchmarkAppendDataV2(b *testing.B) {
	coretest.BenchmarkAppend(b, protobuf.Codec{}, coretest.DataV2())
}
func BenchmarkDecodeDataV2(b *testing.B) {
	coretest.BenchmarkDecode(b, protobuf.Codec{}, coretest.DataV2())
}

func BenchmarkDecodeKeyRepV2(b *testing.B) {
	coretest.BenchmarkDecode(b, protobuf.Codec{}, coretest.KeyRepV2())
}

func BenchmarkAppendMessage(b *testing.B) {
	coretest.BenchmarkAppendMessage(b, protobuf.Codec{}, coretest.ChatMessage())
}

func BenchmarkDecodeMessage(b *testing.B) {
	coretest.BenchmarkDecodeMessage(b, protobuf.Codec{}, coretest.ChatMessage())
}

func BenchmarkDecodeMessages16(b *testing.B) {
	coretest.BenchmarkDecodeMessages(b, protobuf.Codec{}, 16)
}

func BenchmarkAppendBundled16(b *testing.B) {
	coretest.BenchmarkAppendBundled(b, protobuf.Codec{}, 16)
}
