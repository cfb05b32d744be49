package app

import (
	"crypto/ed25519"
	"sync"
)

// sigCache remembers which signing key verified which transaction, so a node checks each
// signature once. Entries are keyed by transaction hash and hold the key used: if the
// signer's key changed in between (a rotation), the cache misses and the signature is checked
// again against the current key.
type sigCache struct {
	mu  sync.Mutex
	m   map[[32]byte][ed25519.PublicKeySize]byte
	max int
}

func newSigCache(max int) *sigCache {
	return &sigCache{m: make(map[[32]byte][ed25519.PublicKeySize]byte), max: max}
}

func (c *sigCache) add(h [32]byte, pub ed25519.PublicKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m) // a node under attack re-verifies; it never trusts an unverified entry
	}
	c.m[h] = [ed25519.PublicKeySize]byte(pub)
}

// take reports whether h was verified with pub, and forgets it.
func (c *sigCache) take(h [32]byte, pub ed25519.PublicKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[h]
	if ok {
		delete(c.m, h)
	}
	return ok && len(pub) == ed25519.PublicKeySize && k == [ed25519.PublicKeySize]byte(pub)
}

func (c *sigCache) has(h [32]byte, pub ed25519.PublicKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[h]
	return ok && len(pub) == ed25519.PublicKeySize && k == [ed25519.PublicKeySize]byte(pub)
}
