package json_test

import (
	"testing"

	"github.com/udpchat/udpchat/codec/json"
	"github.com/udpchat/udpchat/core/coretest"
)

// The packet the server sends most, as docs/PERFORMANCE.md reports it.

func BenchmarkAppendDataV2(b *testing.B) {
	coretest.BenchmarkAppend(b, json.Codec{}, coretest.DataV2())
}
func BenchmarkDecodeDataV2(b *testing.B) {
	coretest.BenchmarkDecode(b, json.Codec{}, coretest.DataV2())
}
