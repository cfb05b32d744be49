package state

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// Record entries (the derived index's keys under "rw/": a record's metadata and inline
// ciphertext, keyed by the log index of its event) are most of the database's bytes, written
// once and in ascending key order. They are stored under a prefix of their own that sorts
// after every other key, so that the tables flushes make of them overlap nothing below and
// pebble moves them down the levels instead of rewriting them each time with the small,
// randomly keyed entries around them (docs/BENCHMARKS.md, "Record entries at the end of the
// key space"). Every other index entry is under indexPrefix. Index keys are logical keys
// everywhere outside this file: the state stream, positions, callers.
var entryKeys = []byte("rw/")

const entryPrefix = byte('w') // after the state map's 's/', the last of the store's prefixes

// indexKey is where the index entry with logical key k is stored.
func indexKey(k []byte) []byte {
	if bytes.HasPrefix(k, entryKeys) {
		return append([]byte{entryPrefix}, k...)
	}
	return append([]byte{indexPrefix}, k...)
}

// isIndexKey reports whether a stored key is an index entry's.
func isIndexKey(stored []byte) bool {
	return len(stored) > 0 && (stored[0] == indexPrefix || stored[0] == entryPrefix)
}

// indexSpans are the stored-key ranges [lo, hi) that hold the logical keys under prefix, in
// logical key order.
func indexSpans(prefix []byte) [][2][]byte {
	lo := indexKey(prefix)
	if bytes.HasPrefix(prefix, entryKeys) || !bytes.HasPrefix(entryKeys, prefix) {
		return [][2][]byte{{lo, PrefixEnd(lo)}}
	}
	// prefix is a prefix of "rw/" ("", "r", "rw"): the record entries lie inside it.
	before := indexKey(bytes.Clone(entryKeys))[1:]
	entries := append([]byte{entryPrefix}, entryKeys...)
	return [][2][]byte{
		{lo, append([]byte{indexPrefix}, before...)},
		{entries, PrefixEnd(entries)},
		{PrefixEnd(append([]byte{indexPrefix}, entryKeys...)), PrefixEnd(lo)},
	}
}

// iterateIndex calls fn with each index entry in r under the logical prefix, from the logical
// key from on (nil: the first), in logical key order, keys without their prefix byte, until
// fn returns false or an error.
func iterateIndex(r pebble.Reader, prefix, from []byte, fn func(k, v []byte) (bool, error)) error {
	for _, sp := range indexSpans(prefix) {
		lo := sp[0]
		if from != nil {
			f := indexKey(from)
			switch {
			case f[0] == lo[0] && bytes.Compare(f, lo) > 0:
				lo = f
			case f[0] != lo[0] && bytes.Compare(from, lo[1:]) > 0:
				continue // from is in a later span
			}
			if bytes.Compare(lo, sp[1]) >= 0 {
				continue
			}
		}
		more, err := iterateSpan(r, lo, sp[1], fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func iterateSpan(r pebble.Reader, lo, hi []byte, fn func(k, v []byte) (bool, error)) (bool, error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return false, err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return false, err
		}
		if more, err := fn(it.Key()[1:], v); err != nil || !more {
			return false, err
		}
	}
	return true, it.Error()
}

// moveEntries moves record entries a database written by an earlier version holds under
// indexPrefix to where they are stored now, once, when the store opens; a stop midway leaves
// the rest for the next Open.
func moveEntries(db *pebble.DB) error {
	old := append([]byte{indexPrefix}, entryKeys...)
	hi := PrefixEnd(old)
	for {
		b := db.NewBatch()
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: old, UpperBound: hi})
		if err != nil {
			b.Close()
			return err
		}
		var first, last []byte
		for it.First(); it.Valid() && b.Len() < 32<<20; it.Next() {
			if first == nil {
				first = bytes.Clone(it.Key())
			}
			last = append(last[:0], it.Key()...) // the iterator reuses its key's bytes
			v, err := it.ValueAndErr()
			if err == nil {
				err = b.Set(indexKey(it.Key()[1:]), v, nil)
			}
			if err != nil {
				it.Close()
				b.Close()
				return fmt.Errorf("move record entries: %w", err)
			}
		}
		if first != nil {
			b.DeleteRange(first, append(bytes.Clone(last), 0), nil)
		}
		err = it.Close()
		if err == nil && first != nil {
			err = b.Commit(pebble.NoSync) // a batch lost in a crash is moved again
		}
		b.Close()
		if err != nil {
			return fmt.Errorf("move record entries: %w", err)
		}
		if first == nil {
			return nil
		}
	}
}

// entriesMoved reports whether r holds no record entry where an earlier version stored
// them (an unreadable r counts as moved: its reader reports the error).
func entriesMoved(r pebble.Reader) bool {
	old := append([]byte{indexPrefix}, entryKeys...)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: old, UpperBound: PrefixEnd(old)})
	if err != nil {
		return true
	}
	defer it.Close()
	return !it.First()
}

// moveEntriesIn opens the database at path to move its record entries (moveEntries).
func moveEntriesIn(path string) error {
	db, err := pebble.Open(path, &pebble.Options{Logger: quietLogger{}, Cleaner: shredCleaner{}})
	if err != nil {
		return fmt.Errorf("open state database in %s to move its record entries: %w", path, err)
	}
	if err := moveEntries(db); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}
