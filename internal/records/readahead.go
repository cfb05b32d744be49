package records

// The lookups a block's writes and reads make of the index, made ahead of the block on
// every core (state.ReadAhead): a new record's head, which is not there, costs a search of
// every level; a read's record entry, at scale, a table block from disk.

// ReadAheadPut looks up what ExecPut will: the record's head and, for an amendment, the
// entry of the version it amends.
func ReadAheadPut(r IndexReader, b *PutBody) { readAheadRecord(r, b.Meta.RecordID) }

// ReadAheadReads looks up what ExecReadBatch will for each of a batch's requests: whether
// it was seen, and the head and entry of the record it reads.
func ReadAheadReads(r IndexReader, qs []*ReadRequest) {
	for _, q := range qs {
		storedOutcome(r, q.NotAfter, q.Hash())
		if q.Record != "" {
			readAheadRecord(r, q.Record)
		}
	}
}

// readAheadRecord looks up a record's head and the latest version's metadata, as latest
// does, without decoding it.
func readAheadRecord(r IndexReader, id string) {
	if _, li, ok := headEntry(r, id); ok {
		entryPart(r, li, partMeta)
	}
}
