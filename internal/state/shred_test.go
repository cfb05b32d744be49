package state

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// filesHolding lists the files under dir whose bytes contain needle.
func filesHolding(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, needle) {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func secret(t *testing.T) []byte {
	b := make([]byte, 2048)
	rand.Read(b)
	return b
}

// waitShredded waits until the store has no pending shred list.
func waitShredded(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := s.ShredPending()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d shred lists still pending after a minute", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commitIndex commits block h with the given index writes and erasures.
func commitIndex(t *testing.T, s *Store, h int64, put map[string][]byte, erase ...string) {
	t.Helper()
	tx := s.Begin()
	tx.Set([]byte("last"), []byte{byte(h)})
	for k, v := range put {
		tx.PutIndex([]byte(k), v)
	}
	for _, k := range erase {
		tx.DeleteIndex([]byte(k))
	}
	tx.Flush()
	if _, err := s.Commit(h); err != nil {
		t.Fatal(err)
	}
}

// TestErasedBytesLeaveEveryFile: an erased index entry, whether it had reached a table file
// or was still only in the memtable and the write-ahead log, is in no file of the state
// directory once the erasure's block is shredded, while a kept entry still is (so the
// search itself works).
func TestErasedBytesLeaveEveryFile(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	inTable, inLog, kept := secret(t), secret(t), secret(t)
	commitIndex(t, s, 1, map[string][]byte{"rec/table": inTable, "rec/kept": kept})
	if err := s.raw.Flush(); err != nil { // rec/table now lives in a table file
		t.Fatal(err)
	}
	commitIndex(t, s, 2, map[string][]byte{"rec/log": inLog}) // only in the memtable and WAL
	for _, b := range [][]byte{inTable, inLog} {
		if len(filesHolding(t, dir, b)) == 0 {
			t.Fatal("an entry is in no file before its erasure: the search is broken")
		}
	}
	commitIndex(t, s, 3, nil, "rec/table", "rec/log")
	waitShredded(t, s)
	if got := s.Committed().GetIndex([]byte("rec/kept")); !bytes.Equal(got, kept) {
		t.Fatal("the kept entry was lost")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for what, b := range map[string][]byte{"table": inTable, "log": inLog} {
		if f := filesHolding(t, dir, b); len(f) > 0 {
			t.Errorf("the erased entry that was in the %s is still in %v", what, f)
		}
	}
	if len(filesHolding(t, dir, kept)) == 0 {
		t.Fatal("the kept entry is in no file")
	}
	s = openT(t, dir)
	defer s.Close()
	if s.Committed().GetIndex([]byte("rec/table")) != nil || !bytes.Equal(s.Committed().GetIndex([]byte("rec/kept")), kept) {
		t.Fatal("after reopening, the erasure or the kept entry is wrong")
	}
}

// TestShredWaitsForOlderSnapshots: an export opened before an erasure reads the erased
// entry from its pebble snapshot, which no compaction may take from it; the shred waits
// and runs when the export closes.
func TestShredWaitsForOlderSnapshots(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	defer s.Close()
	b := secret(t)
	commitIndex(t, s, 1, map[string][]byte{"rec/a": b})
	ex, err := s.Export()
	if err != nil {
		t.Fatal(err)
	}
	commitIndex(t, s, 2, nil, "rec/a")
	if n, err := s.ShredPending(); err != nil || n != 1 {
		t.Fatalf("pending with an older export open: %d, %v; want 1", n, err)
	}
	var buf bytes.Buffer
	if _, err := ex.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), b) {
		t.Fatal("the export of height 1 lacks the entry erased at height 2")
	}
	ex.Close()
	waitShredded(t, s)
}

// TestShredListSurvivesRestart: a shred list committed but not yet compacted (a crash in
// between) is compacted after the next Open.
func TestShredListSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	b := secret(t)
	commitIndex(t, s, 1, map[string][]byte{"rec/a": b})
	ex, err := s.Export() // holds the shred back
	if err != nil {
		t.Fatal(err)
	}
	commitIndex(t, s, 2, nil, "rec/a")
	// As if the process died here: the shredder stops (the open export kept it from
	// shredding), and the database closes with the list pending.
	close(s.done)
	<-s.shredDone
	ex.Close() // its wake-up finds the shredder stopped
	s.closed = true
	s.block.Close()
	if err := s.raw.Close(); err != nil {
		t.Fatal(err)
	}
	if len(filesHolding(t, dir, b)) == 0 {
		t.Fatal("the unshredded entry is in no file: the test shows nothing")
	}
	s = openT(t, dir)
	waitShredded(t, s)
	s.Close()
	if f := filesHolding(t, dir, b); len(f) > 0 {
		t.Fatalf("the erased entry is still in %v after a restart", f)
	}
}
