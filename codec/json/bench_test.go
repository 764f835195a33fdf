package json_test

import (
	"testing"

	"github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core/coretest"
)

// The codec's benchmarks, the same for every codec (core/coretest), as
// docs/PERFORMANCE.md reports them.

func BenchmarkAppend(b *testing.B) { coretest.BenchmarkAppend(b, json.Codec{}, coretest.DataV1()) }
func BenchmarkDecode(b *testing.B) { coretest.BenchmarkDecode(b, json.Codec{}, coretest.DataV1()) }

func BenchmarkAppendDataV2(b *testing.B) {
	coretest.BenchmarkAppend(b, json.Codec{}, coretest.DataV2())
}
func BenchmarkDecodeDataV2(b *testing.B) {
	coretest.BenchmarkDecode(b, json.Codec{}, coretest.DataV2())
}

func BenchmarkDecodeKeyRepV2(b *testing.B) {
	coretest.BenchmarkDecode(b, json.Codec{}, coretest.KeyRepV2())
}

func BenchmarkAppendMessage(b *testing.B) {
	coretest.BenchmarkAppendMessage(b, json.Codec{}, coretest.ChatMessage())
}

func BenchmarkDecodeMessage(b *testing.B) {
	coretest.BenchmarkDecodeMessage(b, json.Codec{}, coretest.ChatMessage())
}

func BenchmarkDecodeMessages16(b *testing.B) {
	coretest.BenchmarkDecodeMessages(b, json.Codec{}, 16)
}

func BenchmarkAppendBundled16(b *testing.B) {
	coretest.BenchmarkAppendBundled(b, json.Codec{}, 16)
}
