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

// TestErasedBytesLeaveEveryFile: an erased index entry that had reached a table file is in
// no file of the state directory once the erasure's block is shredded, while a kept entry
// still is (so the search itself works). One committed after the last flush is only in the
// memtable, since the database has no write-ahead log, and never reaches a file.
func TestErasedBytesLeaveEveryFile(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	inTable, inMem, kept := secret(t), secret(t), secret(t)
	commitIndex(t, s, 1, map[string][]byte{"rec/table": inTable, "rec/kept": kept})
	if err := s.raw.Flush(); err != nil { // rec/table now lives in a table file
		t.Fatal(err)
	}
	commitIndex(t, s, 2, map[string][]byte{"rec/mem": inMem})
	if len(filesHolding(t, dir, inTable)) == 0 {
		t.Fatal("an entry is in no file before its erasure: the search is broken")
	}
	if f := filesHolding(t, dir, inMem); len(f) > 0 {
		t.Fatalf("an entry committed after the last flush is already in %v: the state database writes a log", f)
	}
	commitIndex(t, s, 3, nil, "rec/table", "rec/mem")
	waitShredded(t, s)
	if got := s.Committed().GetIndex([]byte("rec/kept")); !bytes.Equal(got, kept) {
		t.Fatal("the kept entry was lost")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for what, b := range map[string][]byte{"table": inTable, "memtable": inMem} {
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

// TestShredDoesNotWaitForCheckpoints: a snapshot's checkpoint taken before an erasure keeps
// the erased entry in the tables it links, and the live database is shredded all the same;
// the bytes go with the checkpoint.
func TestShredDoesNotWaitForCheckpoints(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	defer s.Close()
	b := secret(t)
	commitIndex(t, s, 1, map[string][]byte{"rec/a": b})
	ck := filepath.Join(t.TempDir(), "checkpoint")
	if _, err := s.Checkpoint(ck); err != nil {
		t.Fatal(err)
	}
	commitIndex(t, s, 2, nil, "rec/a")
	waitShredded(t, s)
	if f := filesHolding(t, dir, b); len(f) > 0 {
		t.Fatalf("with a checkpoint of height 1 on disk, the live database still holds the erased entry in %v", f)
	}
	ex, err := OpenCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	stream := exportBytes(t, ex)
	ex.Close()
	if !bytes.Contains(stream, b) {
		t.Fatal("the checkpoint of height 1 lacks the entry erased at height 2")
	}
	if err := os.RemoveAll(ck); err != nil {
		t.Fatal(err)
	}
}

// TestShredListSurvivesRestart: a shred list committed but not yet compacted (a crash in
// between) is compacted after the next Open.
func TestShredListSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	b := secret(t)
	commitIndex(t, s, 1, map[string][]byte{"rec/a": b})
	// The entry into the bottom level, where the erasure's flushed tombstone alone does not
	// make pebble compact it away.
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	// As if the process died right after the erasure's commit reached the files: the
	// shredder has stopped, and the database closes with the list pending.
	stopShredder(s)
	commitIndex(t, s, 2, nil, "rec/a")
	closeStopped(t, s)
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

// TestCheckpointShredsWhatTheLiveDatabaseHadNot: a checkpoint taken after an erasure's block
// but before the live database shredded it links tables (and copies a log) holding the
// erased entry; opening the checkpoint shreds it from them, so a snapshot taken after an
// erasure never keeps it.
func TestCheckpointShredsWhatTheLiveDatabaseHadNot(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	b := secret(t)
	commitIndex(t, s, 1, map[string][]byte{"rec/a": b})
	if err := s.Compact(); err != nil { // the entry into a table the checkpoint links
		t.Fatal(err)
	}
	stopShredder(s) // before the erasure
	commitIndex(t, s, 2, nil, "rec/a")
	ck := filepath.Join(t.TempDir(), "checkpoint")
	if _, err := s.Checkpoint(ck); err != nil {
		t.Fatal(err)
	}
	closeStopped(t, s)
	if len(filesHolding(t, ck, b)) == 0 {
		t.Fatal("the checkpoint holds the entry in no file: the test shows nothing")
	}
	ex, err := OpenCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	stream := exportBytes(t, ex)
	ex.Close()
	if bytes.Contains(stream, b) {
		t.Fatal("the checkpoint of height 2 exports the entry erased at height 2")
	}
	if f := filesHolding(t, ck, b); len(f) > 0 {
		t.Fatalf("opened, the checkpoint still holds the erased entry in %v", f)
	}
}

// stopShredder stops s's shredder as a crash would, leaving the store open.
func stopShredder(s *Store) {
	close(s.done)
	<-s.shredDone
}

// closeStopped closes the database of a store whose shredder stopShredder stopped, its
// commits flushed: as if the process died once they had reached the files.
func closeStopped(t *testing.T, s *Store) {
	t.Helper()
	s.closed = true
	s.block.Close()
	if err := s.flush(s.last.Height); err != nil {
		t.Fatal(err)
	}
	if err := s.raw.Close(); err != nil {
		t.Fatal(err)
	}
}
