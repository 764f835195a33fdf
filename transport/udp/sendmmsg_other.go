//go:build !linux

package udp

import "github.com/udpchat/udpchat/core"

type rawWriters struct{}

// writeRaw sends nothing where there is no sendmmsg: WriteBatch and
// WriteTo take the locked way (sendmmsg_linux.go says why it matters).
func (c *Conn) writeRaw([]core.Datagram) int { return 0 }
