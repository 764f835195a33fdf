package cli

import (
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/udpchat/udpchat/config"
	"github.com/udpchat/udpchat/core"
	"github.com/udpchat/udpchat/transport/fault"
)

// Listen opens the configured transport on local, wrapped in the fault
// injector when the configuration asks for a bad network.
func Listen(cfg config.Config, n core.Network, local netip.AddrPort, log *slog.Logger) (core.Transport, error) {
	t, err := n.Listen(local)
	if err != nil || !cfg.Fault.Enabled() {
		return t, err
	}
	dir := func(d config.FaultsDirection) fault.Faults {
		return fault.Faults{Loss: d.Loss, Duplicate: d.Duplicate, Reorder: d.Reorder, Delay: d.Delay, Jitter: d.Jitter}
	}
	fc := fault.Config{Seed: cfg.Fault.Seed, Send: dir(cfg.Fault.Send), Receive: dir(cfg.Fault.Receive)}
	if err := fc.Validate(); err != nil {
		t.Close()
		return nil, fmt.Errorf("fault: %w", err)
	}
	log.Warn("injecting network faults on purpose", "send", fmt.Sprintf("%+v", fc.Send), "receive", fmt.Sprintf("%+v", fc.Receive), "seed", fc.Seed)
	return fault.Wrap(t, fc), nil
}
