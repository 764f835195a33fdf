package modern

import "github.com/udpchat/udpchat/core"

// KeyBytes returns copies of the raw seal and open keys that k holds.
func KeyBytes(k core.SessionKeys) (seal, open []byte) {
	s := k.(*sessionKeys)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.sealKey[:]...), append([]byte(nil), s.openKey[:]...)
}

// SetNextCounter sets the counter of k's next Seal.
func SetNextCounter(k core.SessionKeys, n uint64) {
	s := k.(*sessionKeys)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = n
}
