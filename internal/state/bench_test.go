package state

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble"
)

// BenchmarkBlockOf1000Writes is the state's share of a block of 1,000 record writes: 1,000
// transactions each setting three keys (a ~4 KB record and two small index entries) and
// appending one event, then the commit (IAVL version, log root, one synced batch). The
// reported figure is per block; divide by 1,000 for a write.
func BenchmarkBlockOf1000Writes(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := make([]byte, 4096)
	rand.Read(value)
	h := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		h++
		for i := range 1000 {
			tx := s.Begin()
			k := fmt.Sprintf("rec/%d/%d", h, i)
			tx.Set([]byte(k), value)
			tx.Set([]byte(k+"/latest"), []byte{1})
			tx.PutIndex([]byte("pt/"+k), []byte{1})
			tx.Append(value[:200])
			tx.Flush()
		}
		if _, err := s.Commit(h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckpoint is what a snapshot holds the commit path for: a checkpoint of a
// database whose memtable is about half full (32 MB of ~3 KB index entries, which the
// checkpoint flushes into a table first: the database has no write-ahead log) over tables
// it hard-links.
func BenchmarkCheckpoint(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := make([]byte, 3000)
	rand.Read(value)
	h := int64(0)
	commit := func(n int) {
		for i := range n {
			tx := s.Begin()
			tx.PutIndex(fmt.Appendf(nil, "rec/%d/%d", h, i), value)
			tx.Flush()
		}
		h++
		if _, err := s.Commit(h); err != nil {
			b.Fatal(err)
		}
	}
	for range 20 { // ~200 MB in tables
		commit(3000)
	}
	if err := s.Compact(); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		b.StopTimer()
		commit(32 << 20 / 3000)
		b.StartTimer()
		i++
		if _, err := s.Checkpoint(fmt.Sprintf("%s/%d", dir, i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMoveEntries is the first start of a node whose database an earlier version
// wrote: 100,000 record entries of 3 KB moved to where they are stored now (indexkeys.go).
// The reported figure is for all of them.
func BenchmarkMoveEntries(b *testing.B) {
	value := make([]byte, 3000)
	rand.Read(value)
	for b.Loop() {
		b.StopTimer()
		db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: quietLogger{}})
		if err != nil {
			b.Fatal(err)
		}
		batch := db.NewBatch()
		for i := range 100_000 {
			k := binary.BigEndian.AppendUint64(append([]byte{indexPrefix}, entryKeys...), uint64(i))
			batch.Set(k, value, nil)
			if batch.Len() > 32<<20 {
				batch.Commit(pebble.NoSync)
				batch = db.NewBatch()
			}
		}
		batch.Commit(pebble.Sync)
		b.StartTimer()
		if err := moveEntries(db); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if !entriesMoved(db) {
			b.Fatal("entries left behind")
		}
		db.Close()
		b.StartTimer()
	}
}
