// Package codectest is the conformance suite of core.Codec, as
// testing/fstest is for file systems: an exported function that any codec,
// ours or a third party's, calls from its own tests to be held to the
// contract in core/codec.go and core/limits.go, so that every codec runs the
// same checks.
//
//	func TestCodec(t *testing.T) { codectest.TestCodec(t, mycodec.Codec{}) }
//	func FuzzDecode(f *testing.F) {
//		codectest.AddSeeds(f, mycodec.Codec{})
//		f.Fuzz(func(t *testing.T, in []byte) { codectest.CheckDecode(t, mycodec.Codec{}, in) })
//	}
//
// TestCodec checks round trips of every packet type (Packets), that Decode
// never aliases or modifies its input, that it refuses garbage and
// truncations, the field bounds, how the size of a datagram follows its
// payload, concurrent use, and a MessageCodec's round trips where the codec
// is one. TestBundler and TestDecodeTo check the optional capabilities; the
// benchmarks measure every codec alike, for docs/PERFORMANCE.md.
package codectest
