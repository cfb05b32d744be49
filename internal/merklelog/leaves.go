package merklelog

import (
	"fmt"

	"github.com/cockroachdb/pebble"
)

// IterateLeaves calls fn with each leaf of [0, size) of the log stored under prefix in r, in
// index order, without opening the log. r may be a pebble snapshot: that is how a consistent
// copy of one committed size is read while later blocks append. The leaf passed to fn is only
// valid during the call.
func IterateLeaves(r pebble.Reader, prefix byte, size uint64, fn func(index uint64, leaf []byte) error) error {
	return IterateLeavesFrom(r, prefix, 0, size, fn)
}

// IterateLeavesFrom is IterateLeaves of [lo, size): where a snapshot's chunk resumes.
func IterateLeavesFrom(r pebble.Reader, prefix byte, lo, size uint64, fn func(index uint64, leaf []byte) error) error {
	if lo >= size {
		return nil
	}
	st, err := loadState(r, prefix)
	if err != nil {
		return err
	}
	if size > st.size {
		return fmt.Errorf("%w: %d leaves asked of a log of %d", ErrCorrupt, size, st.size)
	}
	return iterate(r, prefix, st.from, lo, size, func(index uint64, leaf []byte) (bool, error) {
		return true, fn(index, leaf)
	})
}
