package state

import (
	"bytes"
	"sync/atomic"
)

// Retired index prefixes are logical key prefixes an earlier release wrote and this one only
// reads: a read's outcome under "rq/<request hash>", now kept in expiry order under "ro/"
// (internal/records/outcome.go). A database that holds no key under one never gets one, yet
// every read would search each level for it. So the store notes, whenever it loads, which
// retired prefixes it holds, and a lookup under one it does not hold answers nil at once.
// The answer is the one the search would give: a write under a retired prefix (nothing
// writes one now) marks it held before anything can read it back.
var retiredPrefixes = [][]byte{[]byte("rq/")}

// retiredSet says which retired prefixes the database holds; a new one replaces it.
type retiredSet struct{ held []bool }

// retiredIndex is the retired prefix key lies under, or -1.
func retiredIndex(key []byte) int {
	for i, p := range retiredPrefixes {
		if bytes.HasPrefix(key, p) {
			return i
		}
	}
	return -1
}

// absent reports whether key lies under a retired prefix the database does not hold.
func (r *retiredSet) absent(key []byte) bool {
	i := retiredIndex(key)
	return i >= 0 && !r.held[i]
}

// noteRetired finds which retired prefixes the committed index holds; load calls it, so a
// restore or state sync, which reloads, is seen too.
func (s *Store) noteRetired() error {
	set := &retiredSet{held: make([]bool, len(retiredPrefixes))}
	for i, p := range retiredPrefixes {
		err := iterateIndex(s.raw, p, nil, func(_, _ []byte) (bool, error) {
			set.held[i] = true
			return false, nil
		})
		if err != nil {
			return err
		}
	}
	s.retired.Store(set)
	return nil
}

// wroteRetired marks key's retired prefix, if any, held before the write can be read.
func wroteRetired(p *atomic.Pointer[retiredSet], key []byte) {
	i := retiredIndex(key)
	if i < 0 {
		return
	}
	old := p.Load()
	if old.held[i] {
		return
	}
	set := &retiredSet{held: append([]bool(nil), old.held...)}
	set.held[i] = true
	p.Store(set)
}
