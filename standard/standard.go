// Package standard imports every implementation that ships with udpchat, so
// that each registers its name in core's registries. A program that wants
// only some of them imports those instead, as Caddy's standard modules do.
package standard

import (
	// Codecs.
	_ "github.com/udpchat/udpchat/codec/json"
	_ "github.com/udpchat/udpchat/codec/protobuf"

	// Cipher suites.
	_ "github.com/udpchat/udpchat/cipher/modern"
	_ "github.com/udpchat/udpchat/cipher/seed"

	// Reliability layers.
	_ "github.com/udpchat/udpchat/reliability/stopwait"
	_ "github.com/udpchat/udpchat/reliability/window"

	// Transports.
	_ "github.com/udpchat/udpchat/transport/udp"

	// Room logs.
	_ "github.com/udpchat/udpchat/roomlog/memory"
)

// Register does nothing: importing the package registers the implementations.
// Calling it says, where it is called, why the import is there.
func Register() {}
