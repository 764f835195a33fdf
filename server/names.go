package server

import (
	"fmt"

	"github.com/udpchat/udpchat/core"
)

// checkName is CheckNick, and not one of the server's reserved names.
func (s *Server) checkName(name string) error {
	if err := core.CheckNick(name); err != nil {
		return err
	}
	for _, r := range s.cfg.Reserved {
		if core.FoldName(r) == core.FoldName(name) {
			return fmt.Errorf("%q is reserved", name)
		}
	}
	return nil
}
