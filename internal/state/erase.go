package state

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble"
)

// Erasure (crypto-shredding) removes index entries: a record's stored metadata and inline
// ciphertext. A pebble delete only writes a tombstone; the old bytes stay in the write-ahead
// log and the table files until a flush and a compaction rewrite them, which Compact forces.

// DeleteIndex stages the removal of a derived index entry; the entry's bytes are shredded
// from the database files after the block commits (shred.go).
func (s *Store) DeleteIndex(key []byte) {
	if err := s.block.Delete(indexKey(key), nil); err != nil {
		fault(err)
	}
	s.wrote(key)
	s.erased = append(s.erased, bytes.Clone(key))
}

// Compact flushes the memtable and compacts the whole state database, so that deleted
// entries are dropped from every table file rather than shadowed by tombstones. It is an
// operator action (and a test's): it may take long on a large database.
func (s *Store) Compact() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return pebble.ErrClosed
	}
	if err := s.raw.Flush(); err != nil {
		return fmt.Errorf("flush state database: %w", err)
	}
	if err := s.raw.Compact([]byte{0}, []byte{0xff, 0xff, 0xff, 0xff}, true); err != nil {
		return fmt.Errorf("compact state database: %w", err)
	}
	return nil
}

// IndexKeys lists the keys of the index entries under prefix in the block's working state
// (committed entries and those staged by earlier transactions of the block), in key order,
// without the index prefix byte. An erasure uses it to find a patient's records.
func (s *Store) IndexKeys(prefix []byte) [][]byte {
	var out [][]byte
	err := iterateIndex(s.block, prefix, nil, func(k, _ []byte) (bool, error) {
		out = append(out, bytes.Clone(k))
		return true, nil
	})
	if err != nil {
		fault(err)
	}
	return out
}

// IndexKeys is Store.IndexKeys seen through the transaction's own writes.
func (t *Tx) IndexKeys(prefix []byte) [][]byte {
	set := map[string]bool{}
	for _, k := range t.s.IndexKeys(prefix) {
		set[string(k)] = true
	}
	for k := range t.index {
		if strings.HasPrefix(k, string(prefix)) {
			set[k] = true
		}
	}
	for k := range t.idels {
		delete(set, k)
	}
	out := make([][]byte, 0, len(set))
	for _, k := range sortedKeys(set) {
		out = append(out, []byte(k))
	}
	return out
}
