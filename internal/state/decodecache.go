package state

import (
	"sync/atomic"

	"github.com/ehrchain/ehrchain/internal/decodecache"
)

// decoded is the owner's set of decode caches; the store only carries it to the readers it
// hands out (the working state, each Tx and each View), so that domain packages find it
// without holding a cache of their own.
type decoded struct {
	p atomic.Pointer[decodecache.Set]
}

// UseDecodeCache makes the readers of this store carry c (nil: none). The App calls it with
// the set it owns.
func (s *Store) UseDecodeCache(c *decodecache.Set) { s.decoded.p.Store(c) }

// DecodeCache is the set of decode caches the store's owner gave it, or nil.
func (s *Store) DecodeCache() *decodecache.Set { return s.decoded.p.Load() }

// DecodeCache is the store's set of decode caches.
func (t *Tx) DecodeCache() *decodecache.Set { return t.s.DecodeCache() }

// DecodeCache is the set of decode caches of the store the view was taken from.
func (v *View) DecodeCache() *decodecache.Set {
	if v.decoded == nil {
		return nil
	}
	return v.decoded.p.Load()
}
