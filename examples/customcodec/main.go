// Command customcodec is udpchat-server with one codec more: lenprefix, a
// compact binary format of its own (package lenprefix), which registers
// itself in core.Codecs when imported. Nothing of udpchat is forked: the
// program is cmd/servercmd, given the standard implementations and this
// one. Select the codec by name, as any other:
//
//	go run ./examples/customcodec --codec lenprefix --listen 127.0.0.1:12345
//
// or `codec: lenprefix` in the YAML configuration. With `codec: auto` the
// server speaks it beside json and protobuf, telling them apart by their
// first byte (lenprefix.Codec.Sniff). docs/EXTENDING.md explains each step.
package main

import (
	"github.com/udpchat/udpchat/cmd/servercmd"
	"github.com/udpchat/udpchat/standard"

	// Registers the "lenprefix" codec.
	_ "github.com/udpchat/udpchat/examples/customcodec/lenprefix"
)

func main() {
	standard.Register()
	servercmd.Main()
}
