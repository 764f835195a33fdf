package server_test

import (
	"crypto/ed25519"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udpchat/udpchat/identity"
	"github.com/udpchat/udpchat/server"
)

// TestParseBanTarget: the forms an operator writes, each in the one form
// bans compare, and what is refused.
func TestParseBanTarget(t *testing.T) {
	fp := identity.Fingerprint(newKey(t).Public().(ed25519.PublicKey))
	for _, tt := range []struct{ in, want, err string }{
		{"key:" + fp, "key:" + fp, ""},
		{"key:SHA256:short", "", "fingerprint"},
		{"ip:192.0.2.7", "ip:192.0.2.7", ""},
		{"ip:::ffff:192.0.2.7", "ip:192.0.2.7", ""},
		{"ip:10.1.2.3/8", "ip:10.0.0.0/8", ""},
		{"ip:::ffff:10.1.2.3/104", "ip:10.0.0.0/8", ""},
		{"ip:2001:db8::1/32", "ip:2001:db8::/32", ""},
		{"ip:fe80::1%eth0", "", "neither an address nor a prefix"},
		{"ip:example.com", "", "neither an address nor a prefix"},
		{"nick:Mallory", "nick:mallory", ""},
		{"nick:9lives", "", "starts with a letter"},
		{"mallory", "", "a ban's target is"},
		{"user:mallory", "", "a ban's target is"},
	} {
		got, err := server.ParseBanTarget(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseBanTarget(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestBansStore: a ban holds against what it names until it is over or
// lifted, and the file keeps them; a file that is not a ban list stops
// the server with one line naming it.
func TestBansStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), server.BansFile)
	bans, err := server.OpenBans(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	key := newKey(t).Public().(ed25519.PublicKey)
	for _, b := range []server.Ban{
		{Target: "key:" + identity.Fingerprint(key), By: "oper", Since: now},
		{Target: "ip:10.0.0.0/8", By: "oper", Until: now.Add(time.Minute), Since: now},
		{Target: "nick:mallory", By: "oper", Reason: "no mallories", Since: now},
	} {
		if err := bans.Add(b, now); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the ban file: %v, %v", err, fi.Mode())
	}
	again, err := server.OpenBans(path)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr("10.9.8.7")
	for _, tt := range []struct {
		name string
		at   time.Time
		key  ed25519.PublicKey
		addr netip.Addr
		nick string
		want bool
	}{
		{"the key", now, key, netip.Addr{}, "", true},
		{"another key", now, newKey(t).Public().(ed25519.PublicKey), netip.Addr{}, "", false},
		{"in the prefix", now, nil, addr, "", true},
		{"mapped, in the prefix", now, nil, netip.AddrFrom16(addr.As16()), "", true},
		{"in the prefix, after the minute", now.Add(2 * time.Minute), nil, addr, "", false},
		{"outside it", now, nil, netip.MustParseAddr("11.0.0.1"), "", false},
		{"the nickname, folded", now, nil, netip.Addr{}, "MALLORY", true},
	} {
		if _, got := again.Match(tt.at, tt.key, tt.addr, tt.nick); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
	}
	if err := again.Remove("nick:mallory", now); err != nil {
		t.Fatal(err)
	}
	if err := again.Remove("nick:mallory", now); err == nil {
		t.Error("a ban lifted twice")
	}

	for _, bad := range []string{"", "[]", `{"version": 2, "bans": []}`, `{"version": 1, "bans": [{"target": "mallory"}]}`,
		`{"version": 1, "bans": [{"target": "nick:a"}, {"target": "nick:a"}]}`, `{"version": 1, "bans": [], "extra": 1}`} {
		p := filepath.Join(t.TempDir(), server.BansFile)
		os.WriteFile(p, []byte(bad), 0o600)
		if _, err := server.OpenBans(p); err == nil || !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), "\n") {
			t.Errorf("OpenBans(%q) = %v, want one line naming the file", bad, err)
		}
	}
}
