package state

import "fmt"

// Checkpoint writes a consistent copy of the state database into dir (which must not exist)
// and returns the commit it holds. Pebble hard-links the immutable tables, so dir must be on
// the same file system as the database and should be removed once copied out. The caller
// must keep Commit from running meanwhile (a running node holds the mempool lock, which
// CometBFT takes around every Commit).
func (s *Store) Checkpoint(dir string) (Commit, error) {
	s.mu.RLock() // keeps Close out while pebble copies
	defer s.mu.RUnlock()
	c := s.last
	if s.closed {
		return Commit{}, fmt.Errorf("checkpoint: the state database is closed")
	}
	// Pebble copies only files, and the database has no write-ahead log: the memtable
	// must reach a table first (durable.go).
	if err := s.flush(c.Height); err != nil {
		return Commit{}, err
	}
	if err := s.raw.Checkpoint(dir); err != nil {
		return Commit{}, fmt.Errorf("checkpoint the state database into %s: %w", dir, err)
	}
	return c, nil
}

// CheckpointInto writes a consistent copy of the state database to dir/state.db (hard links
// to its immutable tables, so cheap on the same file system) while the node keeps
// committing. A checkpoint taken between the two steps of Commit holds a state-map version
// newer than its commit record, which a Snapshot ignores, as Open rolls it back.
func (s *Store) CheckpointInto(dir string) error {
	if err := s.flush(s.LastCommit().Height); err != nil {
		return err
	}
	return s.raw.Checkpoint(dir + "/state.db")
}
