package state

import "github.com/cockroachdb/pebble"

// StagedIndexKeys calls fn with the key (without the index prefix) of every index entry the
// current block has staged so far, in the order they were written. A verifier replaying the
// chain records with it which height wrote each entry, so that a damaged entry is reported
// at the height that wrote it.
func (s *Store) StagedIndexKeys(fn func(key []byte)) error {
	r := s.block.Reader()
	for {
		kind, k, _, ok, err := r.Next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if kind == pebble.InternalKeyKindSet && isIndexKey(k) {
			fn(k[1:])
		}
	}
}
