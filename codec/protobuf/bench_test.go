package protobuf_test

import (
	"testing"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/protobuf"
)

// The codec's benchmarks, the same for every codec (codec/codectest), as
// docs/PERFORMANCE.md reports them.

func BenchmarkAppend(b *testing.B) {
	codectest.BenchmarkAppend(b, protobuf.Codec{}, codectest.DataV1())
}
func BenchmarkDecode(b *testing.B) {
	codectest.BenchmarkDecode(b, protobuf.Codec{}, codectest.DataV1())
}

func BenchmarkAppendDataV2(b *testing.B) {
	codectest.BenchmarkAppend(b, protobuf.Codec{}, codectest.DataV2())
}
func BenchmarkDecodeDataV2(b *testing.B) {
	codectest.BenchmarkDecode(b, protobuf.Codec{}, codectest.DataV2())
}

func BenchmarkDecodeKeyRepV2(b *testing.B) {
	codectest.BenchmarkDecode(b, protobuf.Codec{}, codectest.KeyRepV2())
}

func BenchmarkAppendMessage(b *testing.B) {
	codectest.BenchmarkAppendMessage(b, protobuf.Codec{}, codectest.ChatMessage())
}

func BenchmarkDecodeMessage(b *testing.B) {
	codectest.BenchmarkDecodeMessage(b, protobuf.Codec{}, codectest.ChatMessage())
}

func BenchmarkDecodeMessages16(b *testing.B) {
	codectest.BenchmarkDecodeMessages(b, protobuf.Codec{}, 16)
}

func BenchmarkAppendBundled16(b *testing.B) {
	codectest.BenchmarkAppendBundled(b, protobuf.Codec{}, 16)
}
