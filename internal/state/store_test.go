package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble"

	"github.com/ehrchain/ehrchain/internal/decodecache"
)

func openT(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeBlock(s *Store, h int64) {
	tx := s.Begin()
	tx.Set([]byte(fmt.Sprintf("k/%d", h)), []byte(fmt.Sprintf("v%d", h)))
	tx.Set([]byte("last"), []byte(fmt.Sprint(h)))
	tx.Append([]byte(fmt.Sprintf("event %d", h)))
	tx.PutIndex([]byte(fmt.Sprintf("idx/%d", h)), []byte{byte(h)})
	tx.PutIndex(binary.BigEndian.AppendUint64([]byte("rw/"), uint64(h)), []byte(fmt.Sprintf("entry %d", h))) // stored apart (indexkeys.go)
	tx.Flush()
}

// commitBlocks writes and commits blocks from to to (writeBlock).
func commitBlocks(t *testing.T, s *Store, from, to int64) {
	t.Helper()
	for h := from; h <= to; h++ {
		writeBlock(s, h)
		if _, err := s.Commit(h); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCommitReopen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	commitBlocks(t, s, 1, 5)
	want := s.LastCommit()
	s.Close()
	s = openT(t, dir)
	defer s.Close()
	if got := s.LastCommit(); got.Height != 5 || !bytes.Equal(got.AppHash, want.AppHash) || got.LogSize != 5 {
		t.Fatalf("after reopen %+v, want %+v", got, want)
	}
	v := s.Committed()
	if string(v.Get([]byte("last"))) != "5" || string(v.GetIndex([]byte("idx/3"))) != "\x03" {
		t.Fatal("committed values lost")
	}
	if leaf, err := v.Leaf(4); err != nil || string(leaf) != "event 5" {
		t.Fatalf("leaf 4 = %q, %v", leaf, err)
	}
}

// TestCrashAfterMapBeforeBatch simulates a process killed between the two steps of Commit:
// the state map saved version 3, the commit batch never landed. Open must come back at
// height 2 with height 2's state, and executing block 3 again gives the same app hash.
func TestCrashAfterMapBeforeBatch(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	for h := int64(1); h <= 2; h++ {
		writeBlock(s, h)
		s.Commit(h)
	}
	at2 := s.LastCommit()
	writeBlock(s, 3)
	want3 := s.WorkingHash()
	if _, _, err := s.tree.SaveVersion(); err != nil { // first half of Commit only
		t.Fatal(err)
	}
	s.Close()

	s = openT(t, dir)
	defer s.Close()
	if got := s.LastCommit(); got.Height != 2 || !bytes.Equal(got.AppHash, at2.AppHash) {
		t.Fatalf("recovered to %+v, want height 2", got)
	}
	if s.Committed().Get([]byte("k/3")) != nil {
		t.Fatal("uncommitted block 3 is visible after recovery")
	}
	writeBlock(s, 3)
	if got := s.WorkingHash(); !bytes.Equal(got, want3) {
		t.Fatalf("re-executed block 3 hashes to %X, first time %X", got, want3)
	}
	if _, err := s.Commit(3); err != nil {
		t.Fatal(err)
	}
}

// TestTamperedStateRefused alters the durable commit record: Open must refuse
// rather than serve state that does not match what was committed.
func TestTamperedStateRefused(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	for h := int64(1); h <= 3; h++ {
		writeBlock(s, h)
		s.Commit(h)
	}
	c := s.LastCommit()
	s.Close()

	db, err := pebble.Open(dir+"/state.db", &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = c
	raw, closer, err := db.Get(metaKey)
	if err != nil {
		t.Fatal(err)
	}
	meta := bytes.Clone(raw)
	closer.Close()
	// Flip one character inside the base64 app hash of the JSON commit record.
	i := bytes.Index(meta, []byte(`"app_hash":"`)) + len(`"app_hash":"`)
	if meta[i] == 'A' {
		meta[i] = 'B'
	} else {
		meta[i] = 'A'
	}
	db.Set(metaKey, meta, pebble.Sync)
	db.Close()

	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("a state database with an altered commit record was opened")
	}
}

func TestTxOverlayIsolation(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	tx := s.Begin()
	tx.Set([]byte("a"), []byte("1"))
	tx.Append([]byte("e"))
	if string(tx.Get([]byte("a"))) != "1" {
		t.Fatal("overlay does not read its own write")
	}
	if s.Get([]byte("a")) != nil || s.log.StagedSize() != 0 {
		t.Fatal("unflushed overlay leaked into the block")
	}
	before := s.WorkingHash()
	_ = s.Begin() // a discarded overlay changes nothing
	if !bytes.Equal(before, s.WorkingHash()) {
		t.Fatal("hash moved")
	}
	tx.Flush()
	if string(s.Get([]byte("a"))) != "1" || s.log.StagedSize() != 1 {
		t.Fatal("flush did not apply")
	}
}

func TestProof(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	writeBlock(s, 1)
	c, _ := s.Commit(1)
	v := s.Committed()
	p, err := v.Prove([]byte("k/1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(c.AppHash, []byte("k/1"), []byte("v1")); err != nil {
		t.Fatalf("valid proof: %v", err)
	}
	if err := p.Verify(c.AppHash, []byte("k/1"), []byte("v2")); err == nil {
		t.Fatal("proof verified a wrong value")
	}
	bad := bytes.Clone(c.AppHash)
	bad[0] ^= 1
	if err := p.Verify(bad, []byte("k/1"), []byte("v1")); err == nil {
		t.Fatal("proof verified against a wrong app hash")
	}
	abs, err := v.Prove([]byte("k/9"))
	if err != nil {
		t.Fatal(err)
	}
	if err := abs.Verify(c.AppHash, []byte("k/9"), nil); err != nil {
		t.Fatalf("absence proof: %v", err)
	}
}

// TestReadersCarryTheOwnersDecodeCache: the working state, a Tx and a committed View all
// hand domain packages the set their store's owner gave it, and two stores keep theirs apart.
func TestReadersCarryTheOwnersDecodeCache(t *testing.T) {
	a, b := openT(t, t.TempDir()), openT(t, t.TempDir())
	defer a.Close()
	defer b.Close()
	if a.DecodeCache() != nil || a.Committed().DecodeCache() != nil {
		t.Fatal("a store nobody gave a cache carries one")
	}
	ca, cb := decodecache.NewSet(), decodecache.NewSet()
	a.UseDecodeCache(ca)
	b.UseDecodeCache(cb)
	writeBlock(a, 1)
	if _, err := a.Commit(1); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]*decodecache.Set{
		"store": a.DecodeCache(), "tx": a.Begin().DecodeCache(), "view": a.Committed().DecodeCache(),
		"view taken before the cache was given": b.Committed().DecodeCache(),
	} {
		want := ca
		if name == "view taken before the cache was given" {
			want = cb
		}
		if got != want {
			t.Errorf("%s carries %p, want %p", name, got, want)
		}
	}
}
