package server

import (
	"crypto/rand"
	"net/netip"
	"testing"
	"time"
)

// The address and time the jar tests make their cookie for, and at.
var (
	jarAddr  = netip.MustParseAddrPort("127.0.0.1:5000")
	jarStart = time.Unix(1_000_000, 0)
)

// makeAt makes a cookie for addr at now, or fails t.
func (j *cookieJar) makeAt(t *testing.T, now time.Time, addr netip.AddrPort) []byte {
	t.Helper()
	cookie, err := j.make(now, rand.Reader, addr)
	if err != nil {
		t.Fatal(err)
	}
	return cookie
}

// TestCookieJar: a cookie is good for its own address only, survives one
// change of secret and not two, and anything but a cookie is refused.
func TestCookieJar(t *testing.T) {
	var j cookieJar
	cookie := j.makeAt(t, jarStart, jarAddr)
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
		{"same address", 0, jarAddr, cookie, true},
		{"another port", 0, netip.MustParseAddrPort("127.0.0.1:5001"), cookie, false},
		{"another host", 0, netip.MustParseAddrPort("127.0.0.2:5000"), cookie, false},
		{"one bit off", 0, jarAddr, other, false},
		{"short", 0, jarAddr, cookie[:CookieLen-1], false},
		{"empty", 0, jarAddr, nil, false},
		{"just before the secret changes", cookieLifetime - time.Second, jarAddr, cookie, true},
		{"under the retired secret", cookieLifetime + time.Second, jarAddr, cookie, true},
		{"two secrets later", 2*cookieLifetime + 2*time.Second, jarAddr, cookie, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := j.valid(jarStart.Add(tc.at), rand.Reader, tc.addr, tc.cookie); got != tc.want {
				t.Fatalf("valid = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCookieJarIdle: a secret retired after a long silence takes its
// cookies with it, so a cookie never outlives three lifetimes.
func TestCookieJarIdle(t *testing.T) {
	var j cookieJar
	cookie := j.makeAt(t, jarStart, jarAddr)
	if j.valid(jarStart.Add(3*cookieLifetime), rand.Reader, jarAddr, cookie) {
		t.Fatal("a cookie three lifetimes old is still good")
	}
}
