package state

// Compacting reports whether the database is flushing a memtable or compacting tables now.
// Benchmarks wait for it to turn false before measuring reads, so that a probe does not pay
// for compacting what was written before it.
func (s *Store) Compacting() bool {
	m := s.raw.Metrics()
	return m.Compact.NumInProgress > 0 || m.Flush.NumInProgress > 0
}

// WriteAmp is the database's write amplification since it was opened: the bytes its
// flushes and compactions wrote per byte committed to it. Where a write grows slower with
// the ledger's size, this says how much of it is the LSM rewriting. (The database has no
// write-ahead log, durable.go, so no byte is written twice before its flush.)
func (s *Store) WriteAmp() float64 {
	t := s.raw.Metrics().Total()
	in := s.logical.Load() + int64(t.BytesIngested)
	if in == 0 {
		return 0
	}
	return float64(t.BytesFlushed+t.BytesCompacted) / float64(in)
}
