package state

// Writes counts the keys one Commit wrote to the state database, by part: a key written
// twice in a block counts twice, as pebble stores both until compaction drops the older.
type Writes struct {
	Tree  int // state map (IAVL) nodes and their bookkeeping, including orphan records
	Log   int // event log leaves, Merkle nodes and the log's state
	Index int // derived index entries (records, read outcomes, transaction results), set or deleted
}

// Total is every key written.
func (w Writes) Total() int { return w.Tree + w.Log + w.Index }

// LastWrites is what the last Commit wrote.
func (s *Store) LastWrites() Writes {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lastWrites
}
