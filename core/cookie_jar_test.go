package core

import (
	"crypto/rand"
	"net/netip"
	"testing"
	"time"
)

// TestCookieJar: a cookie is good for its own address only, survives one
// change of secret and not two, and anything but a cookie is refused.
func TestCookieJar(t *testing.T) {
	addr := netip.MustParseAddrPort("127.0.0.1:5000")
	start := time.Unix(1_000_000, 0)
	var j cookieJar
	cookie, err := j.make(start, rand.Reader, addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(cookie) != CookieLen {
		t.Fatalf("cookie of %d bytes, want %d", len(cookie), CookieLen)
	}
	other := make([]byte, CookieLen)
	copy(other, cookie)
	other[0] ^= 1
	for _, tc := range []struct {
		name   string
		at     time.Duration
		addr   netip.AddrPort
		cookie []byte
		want   bool
	}{
		{"same address", 0, addr, cookie, true},
		{"another port", 0, netip.MustParseAddrPort("127.0.0.1:5001"), cookie, false},
		{"another host", 0, netip.MustParseAddrPort("127.0.0.2:5000"), cookie, false},
		{"one bit off", 0, addr, other, false},
		{"short", 0, addr, cookie[:CookieLen-1], false},
		{"empty", 0, addr, nil, false},
		{"just before the secret changes", cookieLifetime - time.Second, addr, cookie, true},
		{"under the retired secret", cookieLifetime + time.Second, addr, cookie, true},
		{"two secrets later", 2*cookieLifetime + 2*time.Second, addr, cookie, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := j.valid(start.Add(tc.at), rand.Reader, tc.addr, tc.cookie); got != tc.want {
				t.Fatalf("valid = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCookieJarIdle: a secret retired after a long silence takes its
// cookies with it, so a cookie never outlives three lifetimes.
func TestCookieJarIdle(t *testing.T) {
	addr := netip.MustParseAddrPort("127.0.0.1:5000")
	start := time.Unix(1_000_000, 0)
	var j cookieJar
	cookie, err := j.make(start, rand.Reader, addr)
	if err != nil {
		t.Fatal(err)
	}
	if j.valid(start.Add(3*cookieLifetime), rand.Reader, addr, cookie) {
		t.Fatal("a cookie three lifetimes old is still good")
	}
}
