package main

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/udpchat/udpchat/cipher/seed"
	"github.com/udpchat/udpchat/core"
)

// keyPool is a small pool of RSA-2048 keys, generated once per run, so that
// client key generation (about 100 ms to 1 s a key) does not dominate the
// handshakes. A seed initiator is immutable, so each key's initiator is made
// once and handed to every client that draws it; successive handshakes of
// one client draw different keys, as a new session needs.
type keyPool struct {
	keys  []*rsa.PrivateKey
	inits []core.Initiator
	next  atomic.Uint64
}

// newKeyPool generates n keys (at least 2), in parallel.
func newKeyPool(n int) (*keyPool, error) {
	n = max(n, 2)
	p := &keyPool{keys: make([]*rsa.PrivateKey, n), inits: make([]core.Initiator, n)}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				errs[i] = fmt.Errorf("key pool: %w", err)
				return
			}
			p.keys[i] = k
			p.inits[i], errs[i] = seed.NewInitiatorFromKey(k)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// initiators is a ClientConfig.NewInitiator drawing from the pool.
func (p *keyPool) initiators() (core.Initiator, error) {
	return p.inits[p.next.Add(1)%uint64(len(p.inits))], nil
}

// hello is key i's KEY_REQ payload.
func (p *keyPool) hello(i int) []byte { return p.inits[i%len(p.inits)].Hello() }
