package identity

import (
	"crypto/ed25519"
	"net/netip"
)

// Pins checks servers against a known_servers file for the client engine
// (it is a client.ServerVerifier): a key seen for the first time is pinned, a
// known one passes, a changed one is refused unless AcceptNew.
type Pins struct {
	File      KnownServers
	AcceptNew bool
	// Notify, if set, hears of a key pinned or replaced, so the user can be
	// told its fingerprint.
	Notify func(msg string)
}

// Verify implements client.ServerVerifier.
func (p *Pins) Verify(server netip.AddrPort, key ed25519.PublicKey) error {
	pin, err := p.File.Check(server.String(), key, p.AcceptNew)
	if err != nil {
		return err
	}
	if p.Notify != nil {
		switch pin {
		case PinNew:
			p.Notify("pinned the key of new server " + server.String() + ": " + Fingerprint(key) + " (in " + p.File.Path + ")")
		case PinReplaced:
			p.Notify("accepted a new key for server " + server.String() + ": " + Fingerprint(key) + " (in " + p.File.Path + ")")
		}
	}
	return nil
}

// Pinned implements client.ServerVerifier. A file that cannot be read counts
// as pinning every server: refusing a downgrade is the safe mistake.
func (p *Pins) Pinned(server netip.AddrPort) bool {
	_, found, err := p.File.Lookup(server.String())
	return found || err != nil
}
