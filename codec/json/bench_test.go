package json_test

import (
	"testing"

	"github.com/udpchat/udpchat/codec/codectest"
	"github.com/udpchat/udpchat/codec/json"
)

// The codec's benchmarks, the same for every codec (codec/codectest), as
// docs/PERFORMANCE.md reports them.

func BenchmarkAppend(b *testing.B) { codectest.BenchmarkAppend(b, json.Codec{}, codectest.DataV1()) }
func BenchmarkDecode(b *testing.B) { codectest.BenchmarkDecode(b, json.Codec{}, codectest.DataV1()) }

func BenchmarkAppendDataV2(b *testing.B) {
	codectest.BenchmarkAppend(b, json.Codec{}, codectest.DataV2())
}
func BenchmarkDecodeDataV2(b *testing.B) {
	codectest.BenchmarkDecode(b, json.Codec{}, codectest.DataV2())
}

func BenchmarkDecodeKeyRepV2(b *testing.B) {
	codectest.BenchmarkDecode(b, json.Codec{}, codectest.KeyRepV2())
}

func BenchmarkAppendMessage(b *testing.B) {
	codectest.BenchmarkAppendMessage(b, json.Codec{}, codectest.ChatMessage())
}

func BenchmarkDecodeMessage(b *testing.B) {
	codectest.BenchmarkDecodeMessage(b, json.Codec{}, codectest.ChatMessage())
}

func BenchmarkDecodeMessages16(b *testing.B) {
	codectest.BenchmarkDecodeMessages(b, json.Codec{}, 16)
}

func BenchmarkAppendBundled16(b *testing.B) {
	codectest.BenchmarkAppendBundled(b, json.Codec{}, 16)
}
