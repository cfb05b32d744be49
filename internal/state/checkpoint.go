package state

import "github.com/cockroachdb/pebble"

// Checkpoint writes a consistent copy of the state database to dir/state.db (hard links to
// its immutable tables, so cheap on the same file system) while the node keeps committing.
// A checkpoint taken between the two steps of Commit holds a state-map version newer than
// its commit record, which a Snapshot ignores, as Open rolls it back.
func (s *Store) Checkpoint(dir string) error {
	return s.raw.Checkpoint(dir+"/state.db", pebble.WithFlushedWAL())
}
