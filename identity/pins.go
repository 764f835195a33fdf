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
	// Name is the server as the user named it (host:port, the host in
	// lower case), which the key is pinned under, with the address it
	// resolved to as a second key (KnownServers.CheckName). Empty, or an
	// address, pins by address alone.
	Name string
	// Notify, if set, hears of a key pinned or replaced, so the user can be
	// told its fingerprint.
	Notify func(msg string)
}

// names returns the name the key is pinned under, and the address beside
// it ("" for none).
func (p *Pins) names(server netip.AddrPort) (name, addr string) {
	if p.Name == "" || p.Name == server.String() {
		return server.String(), ""
	}
	return p.Name, server.String()
}

// Verify implements client.ServerVerifier.
func (p *Pins) Verify(server netip.AddrPort, key ed25519.PublicKey) error {
	name, addr := p.names(server)
	pin, err := p.File.CheckName(name, addr, key, p.AcceptNew)
	if err != nil {
		return err
	}
	if p.Notify != nil {
		switch pin {
		case PinNew:
			p.Notify("pinned the key of new server " + name + ": " + Fingerprint(key) + " (in " + p.File.Path + ")")
		case PinReplaced:
			p.Notify("accepted a new key for server " + name + ": " + Fingerprint(key) + " (in " + p.File.Path + ")")
		case PinNamed:
			p.Notify("pinned the key of server " + name + ", the one already pinned for its address " + addr + ": " + Fingerprint(key) + " (in " + p.File.Path + ")")
		}
	}
	return nil
}

// Pinned implements client.ServerVerifier: a key is on record for the
// server's name or for its address. A file that cannot be read counts as
// pinning every server: refusing a downgrade is the safe mistake.
func (p *Pins) Pinned(server netip.AddrPort) bool {
	name, addr := p.names(server)
	for _, s := range []string{name, addr} {
		if s == "" {
			continue
		}
		if _, found, err := p.File.Lookup(s); found || err != nil {
			return true
		}
	}
	return false
}
