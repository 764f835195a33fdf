package sdk

import "github.com/hashicorp/go-plugin"

// Handshake is what the server and a plugin check before they talk:
// go-plugin passes the magic cookie in the plugin's environment, so that an
// executable started by hand says it is a plugin rather than doing
// something else, and both sides must agree on the protocol version.
var Handshake = plugin.HandshakeConfig{
	// ProtocolVersion is proto/handler/v1's; a change that breaks plugins
	// gets a v2 package and version 2.
	ProtocolVersion: 1,
	MagicCookieKey:  "UDPCHAT_PLUGIN",
	// MagicCookieValue is a fixed random string (128 bits from
	// crypto/rand, once): not a secret, only a marker no other program
	// would set by chance.
	MagicCookieValue: "3c4fe134107c0100037a3634299ef765",
}

// PluginKey is the name under which a plugin's Handler is served in
// go-plugin's plugin set.
const PluginKey = "handler"
