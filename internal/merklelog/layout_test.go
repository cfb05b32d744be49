package merklelog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/transparency-dev/merkle/compact"
)

// writeEarlierLayout stores leaves as the log did before entries: a key per leaf, a key per
// completed node and a version 1 state record.
func writeEarlierLayout(t *testing.T, db *pebble.DB, prefix byte, leaves [][]byte) {
	t.Helper()
	l := &Log{prefix: prefix}
	r := factory.NewEmptyRange(0)
	b := db.NewBatch()
	defer b.Close()
	for i, d := range leaves {
		if err := b.Set(l.leafKey(uint64(i)), d, nil); err != nil {
			t.Fatal(err)
		}
		err := r.Append(hasher.HashLeaf(d), func(id compact.NodeID, h []byte) {
			if err := b.Set(l.nodeKey(id.Level, id.Index), h, nil); err != nil {
				t.Fatal(err)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	st := make([]byte, 9)
	st[0] = stateV1
	binary.BigEndian.PutUint64(st[1:], uint64(len(leaves)))
	for _, h := range r.Hashes() {
		st = append(st, h...)
	}
	if err := b.Set(l.stateKey(), st, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// checkLog holds every root, inclusion proof, leaf and iteration of l to the reference.
func checkLog(t *testing.T, db *pebble.DB, l *Log, leaves [][]byte) {
	t.Helper()
	lh := leafHashes(leaves)
	size := uint64(len(leaves))
	if l.Size() != size || !bytes.Equal(l.Root(), refMTH(lh)) {
		t.Fatalf("size %d root %x, want %d %x", l.Size(), l.Root(), size, refMTH(lh))
	}
	for s := uint64(1); s <= size; s++ {
		root, err := l.RootAt(s)
		if err != nil || !bytes.Equal(root, refMTH(lh[:s])) {
			t.Fatalf("RootAt(%d): %x %v", s, root, err)
		}
		for _, i := range []uint64{0, s / 3, s / 2, s - 1} {
			p, err := l.InclusionProof(i, s)
			if err != nil || !equalProofs(p, refPath(int(i), lh[:s])) {
				t.Fatalf("InclusionProof(%d, %d): %v", i, s, err)
			}
		}
		if s > 1 {
			p, err := l.ConsistencyProof(s/2, s)
			if err != nil || !equalProofs(p, refProof(int(s/2), lh[:s])) {
				t.Fatalf("ConsistencyProof(%d, %d): %v", s/2, s, err)
			}
		}
	}
	for i, d := range leaves {
		got, err := l.Leaf(uint64(i))
		if err != nil || !bytes.Equal(got, d) {
			t.Fatalf("Leaf(%d) = %q, %v; want %q", i, got, err, d)
		}
	}
	for _, from := range []uint64{0, size / 2, size - 1} {
		next := from
		err := l.Iterate(from, func(i uint64, leaf []byte) bool {
			if i != next || !bytes.Equal(leaf, leaves[i]) {
				t.Fatalf("Iterate(%d) gave leaf %d %q, want %d %q", from, i, leaf, next, leaves[next])
			}
			next++
			return true
		})
		if err != nil || next != size {
			t.Fatalf("Iterate(%d) stopped at %d: %v", from, next, err)
		}
	}
	n := 0
	err := IterateLeaves(db, l.prefix, size, func(i uint64, leaf []byte) error {
		if i != uint64(n) || !bytes.Equal(leaf, leaves[n]) {
			t.Fatalf("IterateLeaves gave leaf %d %q, want %d", i, leaf, n)
		}
		n++
		return nil
	})
	if err != nil || n != len(leaves) {
		t.Fatalf("IterateLeaves: %d leaves, %v", n, err)
	}
}

// TestOneKeyPerLeaf: a block of appends writes one key per leaf and the state record,
// whatever nodes the leaves complete.
func TestOneKeyPerLeaf(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	buildLog(t, db, l, "k", 100)
	for i := 0; i < 37; i++ {
		l.Append(leafData("k2", i))
	}
	b := db.NewBatch()
	defer b.Close()
	if err := l.Commit(b); err != nil {
		t.Fatal(err)
	}
	if got := b.Count(); got != 37 {
		t.Fatalf("a block of 37 leaves wrote %d keys, want 37: no key is rewritten every block", got)
	}
}

// TestEarlierLayoutRecordsWhereEntriesStart: the first commit onto a log of the earlier
// layout writes the state record once, with where its entries start; later commits write
// only their entries, and the log reopens at the size of its last entry.
func TestEarlierLayoutRecordsWhereEntriesStart(t *testing.T) {
	db := tempDB(t)
	leaves := leavesOf("old", 0, 10)
	writeEarlierLayout(t, db, testPrefix, leaves)
	l := mustOpen(t, db, testPrefix)
	for bi, want := range []uint32{3 + 1, 3, 3} {
		for _, d := range leavesOf("new", bi*10, 3) {
			l.Append(d)
			leaves = append(leaves, d)
		}
		if got := commitCounting(t, db, l); got != want {
			t.Fatalf("commit %d wrote %d keys, want %d", bi, got, want)
		}
		l = mustOpen(t, db, testPrefix)
		checkLog(t, db, l, leaves)
	}
	st, err := loadState(db, testPrefix)
	if err != nil || st.from != 10 || st.record.size != 13 || st.size != 19 {
		t.Fatalf("state: from %d, record of size %d, size %d (%v); want 10, 13, 19", st.from, st.record.size, st.size, err)
	}
}

// TestEarlierLayoutReads: a log stored in the earlier layout (a key per leaf and per node)
// opens, proves and iterates as it did, takes appends (stored as entries) across reopens,
// and truncates below the point where its entries start.
func TestEarlierLayoutReads(t *testing.T) {
	for _, n := range []int{0, 1, 5, 8, 13, 64} {
		db := tempDB(t)
		var leaves [][]byte
		for i := 0; i < n; i++ {
			leaves = append(leaves, leafData("old", i))
		}
		writeEarlierLayout(t, db, testPrefix, leaves)
		l := mustOpen(t, db, testPrefix)
		if n > 0 {
			checkLog(t, db, l, leaves)
		}
		// Appends in blocks of 3, 1 and 7, reopening after each.
		for bi, k := range []int{3, 1, 7} {
			for j := 0; j < k; j++ {
				d := leafData("new", bi*10+j)
				l.Append(d)
				leaves = append(leaves, d)
			}
			commitBlock(t, db, l)
			l = mustOpen(t, db, testPrefix)
			checkLog(t, db, l, leaves)
		}
		if l.from != uint64(n) {
			t.Fatalf("n=%d: entries start at %d", n, l.from)
		}
		// Truncating below where the entries start moves that point down with it.
		cut := n / 2
		if err := l.TruncateTo(uint64(cut)); err != nil {
			t.Fatal(err)
		}
		assertNoKeysBeyond(t, db, uint64(cut))
		leaves = leaves[:cut]
		for j := 0; j < 9; j++ {
			d := leafData("after", j)
			l.Append(d)
			leaves = append(leaves, d)
		}
		commitBlock(t, db, l)
		l = mustOpen(t, db, testPrefix)
		if l.from != uint64(cut) {
			t.Fatalf("n=%d: after truncating to %d, entries start at %d", n, cut, l.from)
		}
		checkLog(t, db, l, leaves)
	}
}

// TestCorruptEntry: an entry too short for the hashes it must open with is reported, not
// misread.
func TestCorruptEntry(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	buildLog(t, db, l, "c", 8)
	// Leaf 7 completes levels 0 to 3: its entry opens with four hashes.
	if err := db.Set(l.entryKey(7), make([]byte, 3*HashSize), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Leaf(7); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Leaf of a short entry: %v, want ErrCorrupt", err)
	}
	if _, err := Open(db, testPrefix); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open with a short entry: %v, want ErrCorrupt", err)
	}
	if err := l.Iterate(0, func(uint64, []byte) bool { return true }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Iterate over a short entry: %v, want ErrCorrupt", err)
	}
}

// TestRecordOfEarlierReleaseIsKept: a release before this one rewrote the state record at
// every commit, so a log it wrote has one for the size it had last; the log opens at that
// size, takes appends without rewriting the record, and reopens at the size of its last
// entry. A record that disagrees with the stored nodes is still refused.
func TestRecordOfEarlierReleaseIsKept(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	leaves, _ := buildLog(t, db, l, "rec", 21)
	rec := encodeState(l.committed, 0)
	if err := db.Set(l.stateKey(), rec, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, db, testPrefix)
	checkLog(t, db, l, leaves)
	for bi := range 3 {
		for _, d := range leavesOf("rec-new", bi*10, 4) {
			l.Append(d)
			leaves = append(leaves, d)
		}
		if got := commitCounting(t, db, l); got != 4 {
			t.Fatalf("commit %d wrote %d keys, want its 4 entries", bi, got)
		}
		l = mustOpen(t, db, testPrefix)
		checkLog(t, db, l, leaves)
	}
	bad := clone(rec)
	bad[len(bad)-1] ^= 1
	if err := db.Set(l.stateKey(), bad, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(db, testPrefix); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a record disagreeing with the stored nodes: Open = %v, want ErrCorrupt", err)
	}
}
