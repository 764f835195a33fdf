package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"net/netip"
	"sync"
	"time"
)

// CookieLen is the length of a cookie. A cookie is valid while the secret
// that made it is current or the one just retired: a secret is replaced once
// it is cookieLifetime old, so a cookie lasts at least one lifetime and at
// most three.
const (
	CookieLen      = 16
	cookieLifetime = 2 * time.Minute
)

// cookieJar makes and checks the cookies a server under load asks version 2
// clients to echo (WireGuard's cookie reply, DTLS's HelloVerifyRequest). A
// cookie is a MAC of the client's address under a secret the server draws
// at random and replaces every cookieLifetime, so checking one needs no
// state per client: a spoofer, who never sees the answers sent to the
// address it forges, cannot produce one, and so cannot make the server do
// RSA work or keep a half-open session.
type cookieJar struct {
	mu        sync.Mutex
	cur, prev [32]byte
	born      time.Time // when cur was drawn; zero before the first
	hasPrev   bool
}

// rotateLocked draws a new secret if the current one is too old.
func (j *cookieJar) rotateLocked(now time.Time, rand io.Reader) error {
	if !j.born.IsZero() && now.Sub(j.born) < cookieLifetime {
		return nil
	}
	var next [32]byte
	if _, err := io.ReadFull(rand, next[:]); err != nil {
		return err
	}
	if !j.born.IsZero() {
		j.prev, j.hasPrev = j.cur, now.Sub(j.born) < 2*cookieLifetime
	}
	j.cur, j.born = next, now
	return nil
}

// make returns the cookie for addr.
func (j *cookieJar) make(now time.Time, rand io.Reader, addr netip.AddrPort) ([]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.rotateLocked(now, rand); err != nil {
		return nil, err
	}
	return cookieMAC(&j.cur, addr), nil
}

// valid reports whether cookie is addr's under the current or the previous
// secret.
func (j *cookieJar) valid(now time.Time, rand io.Reader, addr netip.AddrPort, cookie []byte) bool {
	if len(cookie) != CookieLen {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.rotateLocked(now, rand); err != nil {
		return false
	}
	if hmac.Equal(cookie, cookieMAC(&j.cur, addr)) {
		return true
	}
	return j.hasPrev && hmac.Equal(cookie, cookieMAC(&j.prev, addr))
}

func cookieMAC(secret *[32]byte, addr netip.AddrPort) []byte {
	m := hmac.New(sha256.New, secret[:])
	ip := addr.Addr().As16()
	m.Write(ip[:])
	m.Write([]byte{byte(addr.Port() >> 8), byte(addr.Port())})
	return m.Sum(nil)[:CookieLen]
}
