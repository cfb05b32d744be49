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
	if size == 0 {
		return nil
	}
	l := &Log{prefix: prefix}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: l.leafKey(0), UpperBound: l.leafKey(size)})
	if err != nil {
		return fmt.Errorf("merklelog: iterate: %w", err)
	}
	defer it.Close()
	next := uint64(0)
	for ok := it.First(); ok; ok = it.Next() {
		idx, valid := l.parseLeafKey(it.Key())
		if !valid || idx != next {
			return fmt.Errorf("%w: unexpected leaf key %x, want index %d", ErrCorrupt, it.Key(), next)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("merklelog: iterate: %w", err)
		}
		if err := fn(idx, v); err != nil {
			return err
		}
		next++
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("merklelog: iterate: %w", err)
	}
	if next != size {
		return fmt.Errorf("%w: missing leaf %d of %d", ErrCorrupt, next, size)
	}
	return nil
}
