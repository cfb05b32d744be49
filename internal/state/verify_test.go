package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble"
)

// checkSnapshot recomputes the committed app hash from the raw data the way an offline
// verifier does and compares it with want.
func checkSnapshot(db *pebble.DB, want Commit) error {
	s, err := snapshotOf(db)
	if err != nil {
		return err
	}
	c := s.Commit()
	if c.Height != want.Height || c.LogSize != want.LogSize || !bytes.Equal(c.AppHash, want.AppHash) {
		return fmt.Errorf("commit record %+v, want %+v", c, want)
	}
	mapRoot, err := s.CheckMap(c.Height, nil)
	if err != nil {
		return err
	}
	logRoot, err := s.CheckLog(nil)
	if err != nil {
		return err
	}
	if got := AppHash(mapRoot, logRoot, c.LogSize); !bytes.Equal(got, want.AppHash) {
		return fmt.Errorf("recomputed app hash %X, want %X", got, want.AppHash)
	}
	return nil
}

func TestSnapshotRecomputesCommittedRoots(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	for h := int64(1); h <= 7; h++ {
		if h != 4 { // height 4 writes nothing: its root refers to height 3's
			writeBlock(s, h)
		}
		if _, err := s.Commit(h); err != nil {
			t.Fatal(err)
		}
	}
	want := s.LastCommit()
	roots := map[int64][]byte{}
	for h := int64(1); h <= 7; h++ {
		im, err := s.tree.GetImmutable(h)
		if err != nil {
			t.Fatal(err)
		}
		roots[h] = im.Hash()
	}
	s.Close()
	snap, err := OpenSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if err := checkSnapshot(snap.raw, want); err != nil {
		t.Fatal(err)
	}
	for h, root := range roots {
		got, err := snap.CheckMap(h, nil)
		if err != nil || !bytes.Equal(got, root) {
			t.Fatalf("height %d: recomputed map root %X, %v; iavl says %X", h, got, err, root)
		}
		if got, err := snap.MapRoot(h); err != nil || !bytes.Equal(got, root) {
			t.Fatalf("height %d: stored map root %X, %v; iavl says %X", h, got, err, root)
		}
	}
}

// TestSnapshotDetectsEveryFlippedByte flips, one at a time, every bit of every value the
// app hash depends on (state map nodes, log leaves, log nodes, log state, commit record) and
// asserts that the recomputed app hash no longer matches.
func TestSnapshotDetectsEveryFlippedByte(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	// One height only, so every stored map node belongs to the committed tree.
	for i := 0; i < 9; i++ {
		tx := s.Begin()
		tx.Set([]byte(fmt.Sprintf("k/%d", i)), []byte(fmt.Sprintf("value %d", i)))
		tx.Append([]byte(fmt.Sprintf("event %d", i)))
		tx.Flush()
	}
	want, err := s.Commit(1)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	db, err := pebble.Open(dir+"/state.db", &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	type kv struct{ k, v []byte }
	var stored []kv
	it, _ := db.NewIter(nil)
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if bytes.HasPrefix(k, []byte("s/s")) || k[0] == logPrefix || bytes.Equal(k, metaKey) {
			stored = append(stored, kv{bytes.Clone(k), bytes.Clone(it.Value())})
		}
	}
	it.Close()
	if len(stored) < 20 {
		t.Fatalf("only %d stored values", len(stored))
	}
	probes := 0
	for _, e := range stored {
		for i := range e.v {
			for bit := 0; bit < 8; bit++ {
				flipped := bytes.Clone(e.v)
				flipped[i] ^= 1 << bit
				set(t, db, e.k, flipped)
				if err := checkSnapshot(db, want); err == nil {
					t.Errorf("key %q byte %d bit %d flipped: not detected", e.k, i, bit)
				}
				probes++
			}
		}
		set(t, db, e.k, e.v)
	}
	if err := checkSnapshot(db, want); err != nil {
		t.Fatalf("restored database: %v", err)
	}
	if !t.Failed() {
		t.Logf("%d flipped bits in %d values, all detected", probes, len(stored))
	}
}

func set(t *testing.T, db *pebble.DB, k, v []byte) {
	t.Helper()
	if err := db.Set(k, v, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
}

// TestMapCheckerFindsTheVersionOfAFlippedNode checks every version with one MapChecker, as
// the offline verifier does: a flipped bit in any stored node, current or only reachable from
// an older version, changes a recomputed root or fails a check no later than at the version
// that wrote the node.
func TestMapCheckerFindsTheVersionOfAFlippedNode(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	const heights = 6
	for h := int64(1); h <= heights; h++ {
		if h != 4 {
			writeBlock(s, h)
		}
		if _, err := s.Commit(h); err != nil {
			t.Fatal(err)
		}
	}
	roots := map[int64][]byte{}
	for h := int64(1); h <= heights; h++ {
		im, _ := s.tree.GetImmutable(h)
		roots[h] = im.Hash()
	}
	s.Close()
	db, err := pebble.Open(dir+"/state.db", &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	snap := &Snapshot{raw: db}
	// firstBad returns the first version whose root does not recompute to the honest one.
	firstBad := func() int64 {
		c := snap.MapChecker()
		for h := int64(1); h <= heights; h++ {
			if got, err := c.Root(h, nil); err != nil || !bytes.Equal(got, roots[h]) {
				return h
			}
		}
		return 0
	}
	if h := firstBad(); h != 0 {
		t.Fatalf("honest store fails at version %d", h)
	}
	it, _ := db.NewIter(&pebble.IterOptions{LowerBound: []byte("s/s"), UpperBound: []byte("s/t")})
	type kv struct{ k, v []byte }
	var nodes []kv
	for it.First(); it.Valid(); it.Next() {
		nodes = append(nodes, kv{bytes.Clone(it.Key()), bytes.Clone(it.Value())})
	}
	it.Close()
	for _, n := range nodes {
		written := int64(binary.BigEndian.Uint64(n.k[3:]))
		for i := range n.v {
			flipped := bytes.Clone(n.v)
			flipped[i] ^= 1 << (i % 8)
			set(t, db, n.k, flipped)
			if h := firstBad(); h == 0 || h > written {
				t.Errorf("node %x byte %d flipped: first failing version %d, written at %d", n.k[3:], i, h, written)
			}
		}
		set(t, db, n.k, n.v)
	}
}
