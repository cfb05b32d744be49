// Package decodecache memoizes decoding of stored values. It is a leaf: policy packages
// (identity, consent) use it without pulling in the state store.
//
// The caches are owned by whoever owns the state (the App), never by the policy packages:
// a package declares the Kind of value it decodes, the App makes a Set, and the state
// readers it hands out carry that Set (Holder). Two Apps in one process therefore never
// share a cache, and a reader that carries none simply decodes every time.
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

// Kind describes one kind of stored value: how to decode it and how many decoded values a
// Set keeps. A Kind holds no cached data, so a package may declare it as a variable.
type Kind[T any] struct {
	max    int
	decode func([]byte) (*T, error)
}

// NewKind declares a kind of value decoded by decode, cached up to max values per Set.
func NewKind[T any](max int, decode func([]byte) (*T, error)) *Kind[T] {
	return &Kind[T]{max: max, decode: decode}
}

// Set holds one Cache per Kind, made on first use. The zero value is not usable; a nil *Set
// caches nothing.
type Set struct{ m sync.Map } // *Kind[T] -> *Cache[T]

// NewSet makes an empty set of caches.
func NewSet() *Set { return &Set{} }

// Holder is a state reader that carries its owner's caches.
type Holder interface{ DecodeCache() *Set }

// Decode decodes b as a k, through k's cache in the Set that r carries when r is a Holder
// with a Set, and directly otherwise. The result may be shared: callers that modify it must
// copy it first.
func Decode[T any](r any, k *Kind[T], b []byte) (*T, error) {
	h, ok := r.(Holder)
	if !ok {
		return k.decode(b)
	}
	s := h.DecodeCache()
	if s == nil {
		return k.decode(b)
	}
	c, ok := s.m.Load(k)
	if !ok {
		c, _ = s.m.LoadOrStore(k, New(k.max, k.decode))
	}
	return c.(*Cache[T]).Get(b)
}
