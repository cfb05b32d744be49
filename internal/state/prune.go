package state

import (
	"errors"
	"fmt"
)

// ErrPruned is a height whose state map version this node no longer keeps.
var ErrPruned = errors.New("pruned")

// PruneVersionsTo deletes the state map versions up to and including height, which must be
// below the last commit. It runs after a commit point, on the consensus goroutine: later
// versions share the nodes they still use, and their hashes do not depend on which older
// versions exist, so the app hash is unchanged. Views of deleted versions must no longer be
// read; exports read from a checkpoint and are unaffected. A crash in the middle leaves
// some of those versions deleted, which the next call finishes.
func (s *Store) PruneVersionsTo(height int64) error {
	last := s.LastCommit().Height
	if height >= last {
		return fmt.Errorf("prune state map to height %d: the last commit is %d and must be kept", height, last)
	}
	first, err := s.FirstVersion()
	if err != nil || height < first {
		return err
	}
	if err := s.tree.DeleteVersionsTo(height); err != nil {
		return fmt.Errorf("prune state map to height %d: %w", height, err)
	}
	return nil
}

// FirstVersion is the oldest state map version this node keeps (0 before the first commit).
func (s *Store) FirstVersion() (int64, error) {
	last := s.LastCommit().Height
	if last == 0 {
		return 0, nil
	}
	return firstVersion(last, func(v int64) (bool, error) {
		b, err := get(s.raw, iavlNodeKey(v, 1))
		return b != nil, err
	})
}

// FirstVersion is the oldest state map version the database holds (0 before the first
// commit). Versions from it to the commit record's height are all kept.
func (s *Snapshot) FirstVersion() (int64, error) {
	if s.commit.Height == 0 {
		return 0, nil
	}
	return firstVersion(s.commit.Height, func(v int64) (bool, error) {
		b, err := s.get(iavlNodeKey(v, 1))
		return b != nil, err
	})
}

// firstVersion searches for the oldest version with a root, knowing that pruning deletes
// versions from the oldest up, so the kept ones are one contiguous range ending at last.
func firstVersion(last int64, has func(int64) (bool, error)) (int64, error) {
	lo, hi := int64(1), last
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := has(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}
