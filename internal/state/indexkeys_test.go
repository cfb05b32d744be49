package state

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"
)

// logicalKeys are index keys on both sides of the record entries and among them.
var logicalKeys = []string{"a/1", "r/x", "rq/x", "rw/\x00\x01", "rw/\x00\x02", "rw/\x07", "rw0", "rwx", "txr/1", "z"}

func putLogical(t *testing.T, s *Store) {
	t.Helper()
	tx := s.Begin()
	for _, k := range slices.Backward(logicalKeys) {
		tx.PutIndex([]byte(k), []byte("v "+k))
	}
	tx.Flush()
	if _, err := s.Commit(1); err != nil {
		t.Fatal(err)
	}
}

func collect(t *testing.T, it func(fn func(k, v []byte) bool) error) []string {
	t.Helper()
	var out []string
	if err := it(func(k, _ []byte) bool { out = append(out, string(k)); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func under(prefix string) []string {
	var out []string
	for _, k := range logicalKeys {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

// TestIndexInLogicalOrder: record entries are stored after every other key, and yet every
// way of listing the index (a committed view, the block's working state, an iteration from
// a key on) gives logical keys in logical order, whatever prefix spans or avoids them.
func TestIndexInLogicalOrder(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	putLogical(t, s)
	for _, k := range logicalKeys {
		stored := s.raw
		want := byte(indexPrefix)
		if strings.HasPrefix(k, "rw/") {
			want = entryPrefix
		}
		if _, closer, err := stored.Get(append([]byte{want}, k...)); err != nil {
			t.Fatalf("%q is not stored under %q: %v", k, want, err)
		} else {
			closer.Close()
		}
	}
	for _, p := range []string{"", "r", "rw", "rw/", "rw/\x00", "rq/", "t"} {
		v := s.Committed()
		got := collect(t, func(fn func(k, v []byte) bool) error { return v.IterateIndex([]byte(p), fn) })
		if want := under(p); !slices.Equal(got, want) {
			t.Errorf("view, prefix %q: %q, want %q", p, got, want)
		}
		var keys []string
		for _, k := range s.IndexKeys([]byte(p)) {
			keys = append(keys, string(k))
		}
		if want := under(p); !slices.Equal(keys, want) {
			t.Errorf("block, prefix %q: %q, want %q", p, keys, want)
		}
	}
	for i, from := range append(slices.Clone(logicalKeys), "rw/\x00\x01\x00", "s") {
		var got []string
		err := iterateIndex(s.raw, nil, []byte(from), func(k, _ []byte) (bool, error) {
			got = append(got, string(k))
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, k := range logicalKeys {
			if k >= from {
				want = append(want, k)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("from %q (%d): %q, want %q", from, i, got, want)
		}
	}
}

// TestEntriesOfAnEarlierLayoutMoved: a database that holds record entries where an earlier
// version stored them (with the other index entries) has them moved, whether it is first
// opened read-only (a start check, a verification) or by the store; nothing is lost.
func TestEntriesOfAnEarlierLayoutMoved(t *testing.T) {
	for _, first := range []string{"read-only", "store"} {
		dir := t.TempDir()
		s := openT(t, dir)
		putLogical(t, s)
		s.Close()
		// Back to the earlier layout.
		db, err := pebble.Open(filepath.Join(dir, "state.db"), &pebble.Options{Logger: quietLogger{}})
		if err != nil {
			t.Fatal(err)
		}
		moved := 0
		for _, k := range under("rw/") {
			now := append([]byte{entryPrefix}, k...)
			v, closer, err := db.Get(now)
			if err != nil {
				t.Fatal(err)
			}
			db.Set(append([]byte{indexPrefix}, k...), bytes.Clone(v), pebble.Sync)
			closer.Close()
			db.Delete(now, pebble.Sync)
			moved++
		}
		db.Close()
		if moved != 3 {
			t.Fatalf("%d entries put back", moved)
		}
		if first == "read-only" {
			snap, err := OpenSnapshot(dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			snap.IterateIndex(func(k, _ []byte) error { got = append(got, string(k)); return nil })
			snap.Close()
			if !slices.Equal(got, logicalKeys) {
				t.Fatalf("read-only first: %q, want %q", got, logicalKeys)
			}
		}
		s = openT(t, dir)
		if !entriesMoved(s.raw) {
			t.Fatalf("%s first: entries still where the earlier version stored them", first)
		}
		for _, k := range logicalKeys {
			if got := s.GetIndex([]byte(k)); string(got) != "v "+k {
				t.Fatalf("%s first: %q reads %q", first, k, got)
			}
		}
		s.Close()
	}
}

// TestMoveEntriesAcrossBatches: entries of an earlier layout that take several of the move's
// batches all arrive where they are stored now, each with its value, and none is left.
func TestMoveEntriesAcrossBatches(t *testing.T) {
	db, err := pebble.Open(t.TempDir(), &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 25_000 // ~75 MB: three batches
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 1500) }
	key := func(i int) []byte { return binary.BigEndian.AppendUint64(bytes.Clone(entryKeys), uint64(i)) }
	b := db.NewBatch()
	for i := range n {
		b.Set(append([]byte{indexPrefix}, key(i)...), value(i), nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := moveEntries(db); err != nil {
		t.Fatal(err)
	}
	if !entriesMoved(db) {
		t.Fatal("entries left where the earlier layout stored them")
	}
	for i := range n {
		v, closer, err := db.Get(indexKey(key(i)))
		if err != nil {
			t.Fatalf("entry %d after the move: %v", i, err)
		}
		ok := bytes.Equal(v, value(i))
		closer.Close()
		if !ok {
			t.Fatalf("entry %d moved with another value", i)
		}
	}
}
