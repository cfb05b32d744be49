package state

// Compacting reports whether the database is flushing a memtable or compacting tables now.
// Benchmarks wait for it to turn false before measuring reads, so that a probe does not pay
// for compacting what was written before it.
func (s *Store) Compacting() bool {
	m := s.raw.Metrics()
	return m.Compact.NumInProgress > 0 || m.Flush.NumInProgress > 0
}

// WriteAmp is the database's write amplification since it was opened: the bytes its
// flushes and compactions wrote to table files per byte committed to it. Where a write
// grows slower with the ledger's size, this says how much of it is the LSM rewriting. The
// database has no write-ahead log (durable.go); pebble's metrics still estimate one from
// the flushed bytes, which is left out here. A byte overwritten before its flush is never
// written, so the figure can be below 1 while little is compacted.
func (s *Store) WriteAmp() float64 {
	m := s.raw.Metrics()
	var written, ingested uint64
	for _, l := range m.Levels {
		written += l.BytesFlushed + l.BytesCompacted
		ingested += l.BytesIngested
	}
	in := uint64(s.logical.Load()) + ingested
	if in == 0 {
		return 0
	}
	return float64(written) / float64(in)
}

// Compactions counts the database's compactions since it was opened, by what set them off
// or what they did. A benchmark reports them beside its figures, so that a probe that paid
// for compactions says which.
type Compactions struct {
	Total int64 `json:"total"`
	Moves int64 `json:"moves"` // tables moved down a level whole, not rewritten
	Reads int64 `json:"reads"` // set off by reads that searched overlapping tables
	// BytesWritten is what the compactions that rewrote tables wrote.
	BytesWritten uint64 `json:"bytes_written"`
}

// Compactions returns the counts so far.
func (s *Store) Compactions() Compactions {
	m := s.raw.Metrics()
	c := Compactions{Total: m.Compact.Count, Moves: m.Compact.MoveCount, Reads: m.Compact.ReadCount}
	for _, l := range m.Levels {
		c.BytesWritten += l.BytesCompacted
	}
	return c
}

// Since is what c counted after earlier.
func (c Compactions) Since(earlier Compactions) Compactions {
	return Compactions{Total: c.Total - earlier.Total, Moves: c.Moves - earlier.Moves, Reads: c.Reads - earlier.Reads,
		BytesWritten: c.BytesWritten - earlier.BytesWritten}
}
