package state

import (
	"bytes"
	"testing"

	"github.com/cockroachdb/pebble"
)

// TestRetiredPrefixLookedUpOnlyWhenHeld: a database that held no key under a retired prefix
// when it loaded answers lookups under it without searching (a key slipped into the files
// behind the store's back shows it), one that holds such keys finds them after the next
// load, and a write under the prefix is read back in its block and after its commit.
func TestRetiredPrefixLookedUpOnlyWhenHeld(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	commitBlocks(t, s, 1, 1)
	hidden, v := []byte("rq/hidden"), []byte("an outcome an earlier release kept")
	if err := s.raw.Set(indexKey(hidden), v, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	if s.GetIndex(hidden) != nil || s.Committed().GetIndex(hidden) != nil {
		t.Fatal("a lookup under a retired prefix the database did not hold at load searched it")
	}
	if got := s.GetIndex([]byte("idx/1")); !bytes.Equal(got, []byte{1}) {
		t.Fatalf("a key under no retired prefix reads %q", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, dir)
	defer s.Close()
	if got := s.Committed().GetIndex(hidden); !bytes.Equal(got, v) {
		t.Fatalf("reloaded, the store holding a retired key reads %q", got)
	}
	fresh := openT(t, t.TempDir())
	defer fresh.Close()
	put := []byte("rq/put")
	tx := fresh.Begin()
	tx.PutIndex(put, v)
	tx.Flush()
	if got := fresh.GetIndex(put); !bytes.Equal(got, v) {
		t.Fatalf("a write under a retired prefix reads back %q in its block", got)
	}
	if _, err := fresh.Commit(1); err != nil {
		t.Fatal(err)
	}
	if got := fresh.Committed().GetIndex(put); !bytes.Equal(got, v) {
		t.Fatalf("a write under a retired prefix reads back %q after its commit", got)
	}
}
