package state

import (
	"fmt"
	"testing"
)

// TestReadAheadServesCommittedUntilWritten: what ReadAhead read answers GetIndex only while
// the block has not written the key, only in its own block, and not at all when asked for
// after the block has written (it would then hold committed values the block replaced).
func TestReadAheadServesCommittedUntilWritten(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	commit := func(h int64) {
		t.Helper()
		if _, err := s.Commit(h); err != nil {
			t.Fatal(err)
		}
	}
	want := func(key, v string) {
		t.Helper()
		if got := s.GetIndex([]byte(key)); (v == "") != (got == nil) || string(got) != v {
			t.Fatalf("index %s reads %q, want %q", key, got, v)
		}
	}
	reading := func(keys ...string) []func(*AheadReader) {
		var fns []func(*AheadReader)
		for _, k := range keys {
			fns = append(fns, func(r *AheadReader) { r.GetIndex([]byte(k)) })
		}
		return fns
	}
	s.PutIndex([]byte("a"), []byte("a1"))
	s.PutIndex([]byte("b"), []byte("b1"))
	s.PutIndex([]byte("c"), []byte("c1"))
	commit(1)

	s.ReadAhead(reading("a", "b", "c", "new"))
	if len(s.ahead) != 4 {
		t.Fatalf("read ahead %d entries, want 4", len(s.ahead))
	}
	want("a", "a1")
	want("new", "")
	s.PutIndex([]byte("a"), []byte("a2"))
	s.DeleteIndex([]byte("b"))
	s.PutIndex([]byte("new"), []byte("n1"))
	want("a", "a2")
	want("b", "")
	want("new", "n1")
	want("c", "c1")
	commit(2)

	// The next block reads what the last one committed, not what was read ahead for it.
	if s.ahead != nil {
		t.Fatal("what was read ahead for a block outlived its commit")
	}
	want("a", "a2")
	want("new", "n1")

	// Asked for after the block wrote, ReadAhead reads nothing: it would read the committed
	// value of a key the block has replaced.
	s.PutIndex([]byte("c"), []byte("c2"))
	s.ReadAhead(reading("c"))
	want("c", "c2")
	commit(3)
}

// TestReadAheadIsWhatTheBlockWouldRead replays the same blocks into two stores, one with
// every lookup read ahead, the other without, and compares the values read and the app
// hashes: blocks that write keys, delete them and read them back in the same block.
func TestReadAheadIsWhatTheBlockWouldRead(t *testing.T) {
	plain, ahead := openT(t, t.TempDir()), openT(t, t.TempDir())
	defer plain.Close()
	defer ahead.Close()
	key := func(i int) []byte { return []byte(fmt.Sprintf("k/%03d", i%37)) }
	for h := int64(1); h <= 20; h++ {
		var fns []func(*AheadReader)
		for i := range 40 {
			fns = append(fns, func(r *AheadReader) { r.GetIndex(key(int(h)*7 + i)) })
		}
		ahead.ReadAhead(fns)
		for i := range 40 {
			k := key(int(h)*7 + i)
			a, b := plain.GetIndex(k), ahead.GetIndex(k)
			if string(a) != string(b) || (a == nil) != (b == nil) {
				t.Fatalf("block %d: %s reads %q read ahead, %q without", h, k, b, a)
			}
			for _, s := range []*Store{plain, ahead} {
				switch i % 3 {
				case 0:
					s.PutIndex(k, []byte(fmt.Sprint(h, i)))
				case 1:
					s.DeleteIndex(k)
				}
			}
		}
		ca, err := plain.Commit(h)
		if err != nil {
			t.Fatal(err)
		}
		cb, err := ahead.Commit(h)
		if err != nil {
			t.Fatal(err)
		}
		if string(ca.AppHash) != string(cb.AppHash) {
			t.Fatalf("block %d: app hashes differ", h)
		}
	}
}
