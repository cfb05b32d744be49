package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble"
)

// Shredding makes an erasure reach the disk. An erased record's metadata and inline
// ciphertext are index entries (DeleteIndex), and a pebble delete only writes a tombstone:
// the old bytes stay in table files until compactions pass them, which on a quiet database
// may be never. So after each block that erased entries, the store compacts exactly their
// key ranges in the background (which flushes the memtable holding them first). The state
// database has no write-ahead log (durable.go), but the others this package opens do, and
// all use shredCleaner, so that an obsolete log is deleted instead of kept for reuse (a
// reused log is overwritten from its start, its old tail readable until then).
//
// The keys to shred are written with the block's commit batch under shredPrefix (node
// local, outside the app hash and the snapshots), and removed once compacted, so a crash
// in between leaves them for the next Open.

var shredPrefix = []byte("m/shred/")

// shredCleaner deletes every obsolete file, as pebble's default cleaner does, but also
// turns off the recycling of write-ahead logs: pebble recycles only when its cleaner does
// not need file contents, a property it reads from an unexported marker method that only
// ArchiveCleaner has. Embedding ArchiveCleaner one level deeper than DeleteCleaner promotes
// that marker while DeleteCleaner's shallower Clean wins.
type shredCleaner struct {
	pebble.DeleteCleaner
	noRecycle
}

type noRecycle struct{ pebble.ArchiveCleaner }

func (shredCleaner) String() string { return "delete, no log recycling" }

func shredKey(height int64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(shredPrefix), uint64(height))
}

// encodeKeys joins keys as (uvarint length, bytes) pairs.
func encodeKeys(keys [][]byte) []byte {
	var out []byte
	for _, k := range keys {
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
	}
	return out
}

func decodeKeys(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return nil, fmt.Errorf("shred list is corrupt")
		}
		out = append(out, b[w:w+int(n)])
		b = b[w+int(n):]
	}
	return out, nil
}

// stageShred adds the keys the current block erased to its commit batch.
func (s *Store) stageShred(height int64) error {
	if len(s.erased) == 0 {
		return nil
	}
	sort.Slice(s.erased, func(i, j int) bool { return bytes.Compare(s.erased[i], s.erased[j]) < 0 })
	err := s.block.Set(shredKey(height), encodeKeys(s.erased), nil)
	s.erased = nil
	return err
}

// wakeShredder asks the shredder to look for work; it never blocks the caller.
func (s *Store) wakeShredder() {
	select {
	case s.shredWake <- struct{}{}:
	default:
	}
}

// shredLoop compacts what erasures left behind until the store closes.
func (s *Store) shredLoop() {
	defer close(s.shredDone)
	for {
		select {
		case <-s.done:
			return
		case <-s.shredWake:
		}
		if err := s.shredPending(); err != nil {
			s.shredErr.Store(&err)
		}
	}
}

// shredPending compacts the ranges of every pending shred list, oldest first, and removes
// each list once its compaction is done.
func (s *Store) shredPending() error {
	return shredLists(s.raw, s.done, func(height uint64, n int) {
		if f := s.shredLog.Load(); f != nil {
			(*f)("state database: %d erased entries of height %d shredded from its files", n, height)
		}
	})
}

// shredLists does shredPending's work on db until done is closed (nil: to the end), calling
// shredded after each list.
func shredLists(db *pebble.DB, done <-chan struct{}, shredded func(height uint64, n int)) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: shredPrefix, UpperBound: PrefixEnd(shredPrefix)})
	if err != nil {
		return err
	}
	type list struct{ key, val []byte }
	var lists []list
	for it.First(); it.Valid(); it.Next() {
		lists = append(lists, list{bytes.Clone(it.Key()), bytes.Clone(it.Value())})
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, l := range lists {
		keys, err := decodeKeys(l.val)
		if err != nil {
			return err
		}
		for _, k := range keys {
			select {
			case <-done:
				return nil // the list stays for the next Open
			default:
			}
			lo := indexKey(k)
			if err := db.Compact(lo, append(bytes.Clone(lo), 0), false); err != nil {
				return fmt.Errorf("compact an erased entry: %w", err)
			}
		}
		// Not synced (the database has no write-ahead log): after a crash the list may
		// come back, and compacting its ranges again is harmless.
		if err := db.Delete(l.key, pebble.NoSync); err != nil {
			return err
		}
		shredded(binary.BigEndian.Uint64(l.key[len(shredPrefix):]), len(keys))
	}
	return nil
}

// SetShredLog makes the shredder report each compacted erasure list through logf.
func (s *Store) SetShredLog(logf func(format string, args ...any)) { s.shredLog.Store(&logf) }

// ShredPending is the number of committed erasure lists whose entries are not yet compacted
// out of the database files; tests and operators wait for it to reach zero.
func (s *Store) ShredPending() (int, error) {
	if p := s.shredErr.Load(); p != nil {
		return 0, *p
	}
	it, err := s.raw.NewIter(&pebble.IterOptions{LowerBound: shredPrefix, UpperBound: PrefixEnd(shredPrefix)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	return n, it.Error()
}
