package state

// Compacting reports whether the database is flushing a memtable or compacting tables now.
// Benchmarks wait for it to turn false before measuring reads, so that a probe does not pay
// for compacting what was written before it.
func (s *Store) Compacting() bool {
	m := s.raw.Metrics()
	return m.Compact.NumInProgress > 0 || m.Flush.NumInProgress > 0
}
