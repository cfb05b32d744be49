// Package decodecache memoizes decoding of stored values. It is a leaf: policy packages
// (identity, consent) use it without pulling in the state store.
package decodecache

import "sync"

// Cache memoizes the decoding of stored values by their exact bytes. Hot values
// (a signer's identity, a patient's grants) are read several times per transaction and per
// access decision; decoding their JSON costs as much as a signature check. Keyed by content,
// an entry can never be stale, so the cache needs no invalidation.
type Cache[T any] struct {
	mu     sync.Mutex
	m      map[string]*T
	max    int
	decode func([]byte) (*T, error)
}

// New caches up to max decoded values.
func New[T any](max int, decode func([]byte) (*T, error)) *Cache[T] {
	return &Cache[T]{m: map[string]*T{}, max: max, decode: decode}
}

// Get decodes b, or returns the value decoded from the same bytes before. The result is
// shared: callers that modify it must copy it first.
func (c *Cache[T]) Get(b []byte) (*T, error) {
	c.mu.Lock()
	v, ok := c.m[string(b)]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := c.decode(b)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[string(b)] = v
	c.mu.Unlock()
	return v, nil
}
