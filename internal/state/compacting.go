package state

// Compacting reports whether the database is flushing a memtable or compacting tables now.
// Benchmarks wait for it to turn false before measuring reads, so that a probe does not pay
// for compacting what was written before it.
func (s *Store) Compacting() bool {
	m := s.raw.Metrics()
	return m.Compact.NumInProgress > 0 || m.Flush.NumInProgress > 0
}

// WriteAmp is the database's write amplification so far: the bytes it wrote (its
// write-ahead log, flushes and compactions) per byte written to the log. Where a write
// grows slower with the ledger's size, this says how much of it is the LSM rewriting.
func (s *Store) WriteAmp() float64 {
	t := s.raw.Metrics().Total()
	return t.WriteAmp()
}
