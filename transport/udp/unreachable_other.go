//go:build !linux

package udp

import (
	"errors"
	"fmt"
)

func (c *Conn) reportUnreachable() error {
	return fmt.Errorf("transport/udp: reports of ICMP errors: %w", errors.ErrUnsupported)
}

func (c *Conn) queuedError() error { return nil }
