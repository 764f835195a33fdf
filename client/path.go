package client

import "github.com/udpchat/udpchat/core"

// maxChallenge bounds the plaintext of a PING the client echoes: a path
// challenge is 16 bytes (docs/PROTOCOL.md, "Path validation").
const maxChallenge = 64

// answerChallenge answers the server's PING, already opened to plain: a
// path challenge, sent when the server saw this session's packets come
// from an address it has not validated (a NAT rebinding, a new network).
// The PONG echoes its seq and plaintext, sealed, from wherever the client
// now is; only when the echo arrives from the new address does the server
// send the session there.
func (c *Client) answerChallenge(p *core.Packet, plain []byte) {
	if len(plain) > maxChallenge {
		c.drop(c.server(), "PING with an oversize challenge", nil)
		return
	}
	c.sendSealed(&core.Packet{Type: core.TypePong, Seq: p.Seq, HasSeq: p.HasSeq}, plain)
}
