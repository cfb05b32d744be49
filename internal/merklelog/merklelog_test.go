package merklelog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble"
)

const testPrefix = 0x4d

// blockPattern is the number of leaves per block, cycled. It includes empty
// blocks and blocks that cross power-of-two boundaries.
var blockPattern = []int{1, 2, 3, 5, 8, 13, 1, 0, 4, 7, 16, 31, 32, 33, 2, 64, 9}

// quietLogger drops pebble's informational messages (e.g. WAL replay on
// reopen) and fails loudly on fatal ones.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func openDB(t testing.TB, dir string) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("pebble.Open: %v", err)
	}
	return db
}

func tempDB(t testing.TB) *pebble.DB {
	t.Helper()
	db := openDB(t, t.TempDir())
	t.Cleanup(func() { db.Close() })
	return db
}

func mustOpen(t testing.TB, db *pebble.DB, prefix byte) *Log {
	t.Helper()
	l, err := Open(db, prefix)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// commitBlock writes the staged leaves through a batch, applies it and
// promotes the staged state, as a block commit does.
func commitBlock(t testing.TB, db *pebble.DB, l *Log) {
	t.Helper()
	commitCounting(t, db, l)
}

// commitCounting is commitBlock, and says how many keys the commit's batch wrote.
func commitCounting(t testing.TB, db *pebble.DB, l *Log) uint32 {
	t.Helper()
	b := db.NewBatch()
	defer b.Close()
	if err := l.Commit(b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	keys := b.Count()
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatalf("batch commit: %v", err)
	}
	l.Committed()
	return keys
}

// leavesOf is leafData(tag, i) for i from from to from+n-1.
func leavesOf(tag string, from, n int) [][]byte {
	var leaves [][]byte
	for i := from; i < from+n; i++ {
		leaves = append(leaves, leafData(tag, i))
	}
	return leaves
}

func leafData(tag string, i int) []byte {
	// Varying lengths, including empty leaves.
	if i%11 == 10 {
		return []byte{}
	}
	return bytes.Repeat([]byte(fmt.Sprintf("%s-%04d|", tag, i)), 1+i%4)
}

func leafHashes(leaves [][]byte) [][]byte {
	out := make([][]byte, len(leaves))
	for i, d := range leaves {
		out[i] = refLeafHash(d)
	}
	return out
}

// buildLog appends n leaves in blocks following blockPattern and returns the
// leaves and the committed size after every block.
func buildLog(t testing.TB, db *pebble.DB, l *Log, tag string, n int) ([][]byte, []uint64) {
	t.Helper()
	var leaves [][]byte
	var sizes []uint64
	for i := 0; len(leaves) < n; i++ {
		k := min(blockPattern[i%len(blockPattern)], n-len(leaves))
		for j := 0; j < k; j++ {
			d := leafData(tag, len(leaves))
			l.Append(d)
			leaves = append(leaves, d)
		}
		commitBlock(t, db, l)
		sizes = append(sizes, l.Size())
	}
	return leaves, sizes
}

var proofSizes = []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 299, 300}

func TestRootsMatchReference(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	empty := sha256Empty()
	if l.Size() != 0 || !bytes.Equal(l.Root(), empty) || !bytes.Equal(l.StagedRoot(), empty) || !bytes.Equal(EmptyRoot(), empty) {
		t.Fatalf("empty log: size %d root %x staged %x", l.Size(), l.Root(), l.StagedRoot())
	}

	const total = 300
	var lh [][]byte
	blocks := 0
	for i := 0; len(lh) < total; i++ {
		k := min(blockPattern[i%len(blockPattern)], total-len(lh))
		before := l.Size()
		for j := 0; j < k; j++ {
			d := leafData("r", len(lh))
			if idx := l.Append(d); idx != uint64(len(lh)) {
				t.Fatalf("Append returned %d, want %d", idx, len(lh))
			}
			lh = append(lh, refLeafHash(d))
			if got, want := l.StagedRoot(), refMTH(lh); !bytes.Equal(got, want) {
				t.Fatalf("StagedRoot at staged size %d = %x, want %x", len(lh), got, want)
			}
			if l.StagedSize() != uint64(len(lh)) || l.Size() != before {
				t.Fatalf("StagedSize %d Size %d, want %d %d", l.StagedSize(), l.Size(), len(lh), before)
			}
		}
		staged := l.StagedRoot()
		commitBlock(t, db, l)
		blocks++
		if l.Size() != uint64(len(lh)) {
			t.Fatalf("Size %d, want %d", l.Size(), len(lh))
		}
		if !bytes.Equal(l.Root(), staged) {
			t.Fatalf("Root after commit %x != StagedRoot before %x", l.Root(), staged)
		}
	}
	if blocks < 10 {
		t.Fatalf("only %d blocks", blocks)
	}
	for s := 0; s <= total; s++ {
		got, err := l.RootAt(uint64(s))
		if err != nil {
			t.Fatalf("RootAt(%d): %v", s, err)
		}
		if want := refMTH(lh[:s]); !bytes.Equal(got, want) {
			t.Fatalf("RootAt(%d) = %x, want %x", s, got, want)
		}
	}
	if _, err := l.RootAt(total + 1); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("RootAt beyond size: %v, want ErrOutOfRange", err)
	}
}

func sha256Empty() []byte { return refMTH(nil) }

func TestInclusionProofs(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	leaves, _ := buildLog(t, db, l, "i", 300)
	lh := leafHashes(leaves)

	for _, size := range proofSizes {
		root, err := l.RootAt(size)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root, refMTH(lh[:size])) {
			t.Fatalf("RootAt(%d) mismatch", size)
		}
		for index := uint64(0); index < size; index++ {
			p, err := l.InclusionProof(index, size)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", index, size, err)
			}
			if want := refPath(int(index), lh[:size]); !equalProofs(p, want) {
				t.Fatalf("InclusionProof(%d, %d) differs from RFC 6962 PATH", index, size)
			}
			if err := VerifyInclusion(index, size, leaves[index], p, root); err != nil {
				t.Fatalf("VerifyInclusion(%d, %d): %v", index, size, err)
			}
		}
	}
	for _, c := range []struct{ index, size uint64 }{{0, 0}, {5, 5}, {6, 5}, {0, 301}, {300, 300}} {
		if _, err := l.InclusionProof(c.index, c.size); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("InclusionProof(%d, %d): %v, want ErrOutOfRange", c.index, c.size, err)
		}
	}
}

func TestConsistencyProofs(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	leaves, _ := buildLog(t, db, l, "c", 300)
	lh := leafHashes(leaves)

	sizes := append([]uint64{0}, proofSizes...)
	for _, size2 := range sizes {
		root2 := refMTH(lh[:size2])
		for size1 := uint64(0); size1 <= size2; size1++ {
			root1 := refMTH(lh[:size1])
			p, err := l.ConsistencyProof(size1, size2)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", size1, size2, err)
			}
			if want := refProof(int(size1), lh[:size2]); !equalProofs(p, want) {
				t.Fatalf("ConsistencyProof(%d, %d) differs from RFC 6962 PROOF", size1, size2)
			}
			if err := VerifyConsistency(size1, size2, root1, root2, p); err != nil {
				t.Fatalf("VerifyConsistency(%d, %d): %v", size1, size2, err)
			}
		}
	}
	for _, c := range []struct{ s1, s2 uint64 }{{2, 1}, {0, 301}, {300, 301}} {
		if _, err := l.ConsistencyProof(c.s1, c.s2); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("ConsistencyProof(%d, %d): %v, want ErrOutOfRange", c.s1, c.s2, err)
		}
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	l := mustOpen(t, db, testPrefix)
	leaves, _ := buildLog(t, db, l, "o", 137)
	size, root := l.Size(), l.Root()
	type snap struct {
		incl [][][]byte
		cons [][][]byte
		rts  [][]byte
	}
	take := func(l *Log) snap {
		var s snap
		for i := uint64(0); i < size; i++ {
			p, err := l.InclusionProof(i, size)
			if err != nil {
				t.Fatal(err)
			}
			s.incl = append(s.incl, p)
			c, err := l.ConsistencyProof(i, size)
			if err != nil {
				t.Fatal(err)
			}
			s.cons = append(s.cons, c)
			r, err := l.RootAt(i)
			if err != nil {
				t.Fatal(err)
			}
			s.rts = append(s.rts, r)
		}
		return s
	}
	before := take(l)
	// Staged but uncommitted leaves must not survive a restart.
	l.Append([]byte("uncommitted"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir)
	defer db.Close()
	l = mustOpen(t, db, testPrefix)
	if l.Size() != size || !bytes.Equal(l.Root(), root) || l.StagedSize() != size {
		t.Fatalf("after reopen: size %d root %x, want %d %x", l.Size(), l.Root(), size, root)
	}
	after := take(l)
	for i := range before.incl {
		if !equalProofs(before.incl[i], after.incl[i]) || !equalProofs(before.cons[i], after.cons[i]) || !bytes.Equal(before.rts[i], after.rts[i]) {
			t.Fatalf("proofs or roots for %d changed across reopen", i)
		}
		if err := VerifyInclusion(uint64(i), size, leaves[i], after.incl[i], root); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Leaf(size); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Leaf(size): %v, want ErrNotFound", err)
	}
	// The log keeps growing correctly after reopen.
	lh := leafHashes(leaves)
	for i := 0; i < 40; i++ {
		d := leafData("o2", i)
		l.Append(d)
		lh = append(lh, refLeafHash(d))
	}
	commitBlock(t, db, l)
	if !bytes.Equal(l.Root(), refMTH(lh)) {
		t.Fatal("root after reopen and append differs from reference")
	}
}

// TestTruncateTo simulates a crash after the log's batch for a block was
// applied but before the rest of the block's state was, followed by recovery.
func TestTruncateTo(t *testing.T) {
	for _, c := range []struct{ n, m int }{
		{0, 1}, {0, 17}, {1, 1}, {1, 3}, {2, 2}, {3, 1}, {4, 4}, {5, 11}, {7, 1},
		{8, 8}, {9, 23}, {16, 16}, {31, 1}, {32, 1}, {33, 31}, {63, 65}, {100, 156}, {128, 1},
	} {
		t.Run(fmt.Sprintf("N=%d,M=%d", c.n, c.m), func(t *testing.T) { testTruncateTo(t, c.n, c.m) })
	}
}

func testTruncateTo(t *testing.T, n, m int) {
	dir := t.TempDir()
	db := openDB(t, dir)
	l := mustOpen(t, db, testPrefix)
	leaves, _ := buildLog(t, db, l, "t", n)
	rootN := l.Root()

	// Further committed blocks (from the log's point of view) ...
	extraBlocks := []int{m / 2, m - m/2}
	for bi, k := range extraBlocks {
		for j := 0; j < k; j++ {
			l.Append(leafData("x", n+j+bi*1000))
		}
		b := db.NewBatch()
		if err := l.Commit(b); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(pebble.Sync); err != nil {
			t.Fatal(err)
		}
		b.Close()
		if bi == 0 {
			l.Committed()
		}
		// ... and the process dies before Committed for the last one.
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir)
	l = mustOpen(t, db, testPrefix)
	if l.Size() != uint64(n+m) {
		t.Fatalf("reopened size %d, want %d", l.Size(), n+m)
	}
	if err := l.TruncateTo(uint64(n + m + 1)); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("TruncateTo beyond size: %v", err)
	}
	l.Append([]byte("staged before truncate"))
	if err := l.TruncateTo(uint64(n)); err != nil {
		t.Fatalf("TruncateTo(%d): %v", n, err)
	}
	check := func(l *Log) {
		t.Helper()
		if l.Size() != uint64(n) || l.StagedSize() != uint64(n) || !bytes.Equal(l.Root(), rootN) || !bytes.Equal(l.StagedRoot(), rootN) {
			t.Fatalf("after truncate: size %d staged %d root %x, want %d %x", l.Size(), l.StagedSize(), l.Root(), n, rootN)
		}
		if _, err := l.Leaf(uint64(n)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Leaf(%d) after truncate: %v", n, err)
		}
		got := 0
		if err := l.Iterate(0, func(i uint64, d []byte) bool {
			if !bytes.Equal(d, leaves[i]) {
				t.Fatalf("leaf %d differs", i)
			}
			got++
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Fatalf("iterated %d leaves, want %d", got, n)
		}
		for i := 0; i < n; i++ {
			p, err := l.InclusionProof(uint64(i), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyInclusion(uint64(i), uint64(n), leaves[i], p, rootN); err != nil {
				t.Fatal(err)
			}
		}
		assertNoKeysBeyond(t, db, uint64(n))
	}
	check(l)
	if err := l.TruncateTo(uint64(n)); err != nil { // Idempotent.
		t.Fatal(err)
	}
	check(l)

	// The truncation is durable.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir)
	t.Cleanup(func() { db.Close() })
	l = mustOpen(t, db, testPrefix)
	check(l)

	// Continuing gives the same roots and stored bytes as a log that never had
	// the extra leaves.
	refDB := tempDB(t)
	ref := mustOpen(t, refDB, testPrefix)
	for _, d := range leaves {
		ref.Append(d)
	}
	commitBlock(t, refDB, ref)
	if !bytes.Equal(ref.Root(), rootN) {
		t.Fatal("reference root mismatch")
	}
	for bi, k := range []int{3, 0, 1, 9, 32, 5} {
		for j := 0; j < k; j++ {
			d := leafData("y", bi*100+j)
			if a, b := l.Append(d), ref.Append(d); a != b {
				t.Fatalf("indices %d != %d", a, b)
			}
		}
		if !bytes.Equal(l.StagedRoot(), ref.StagedRoot()) {
			t.Fatal("staged roots differ from reference")
		}
		commitBlock(t, db, l)
		commitBlock(t, refDB, ref)
		if !bytes.Equal(l.Root(), ref.Root()) || l.Size() != ref.Size() {
			t.Fatalf("after block %d: root %x size %d, reference %x %d", bi, l.Root(), l.Size(), ref.Root(), ref.Size())
		}
	}
	if a, b := dumpPrefix(t, db, testPrefix), dumpPrefix(t, refDB, testPrefix); !equalProofs(a, b) {
		t.Fatal("stored keys/values differ from a log that never had the extra leaves")
	}
	for i := uint64(0); i < l.Size(); i++ {
		p1, err := l.InclusionProof(i, l.Size())
		if err != nil {
			t.Fatal(err)
		}
		p2, err := ref.InclusionProof(i, ref.Size())
		if err != nil {
			t.Fatal(err)
		}
		if !equalProofs(p1, p2) {
			t.Fatalf("inclusion proof %d differs from reference", i)
		}
	}
}

// assertNoKeysBeyond checks that no leaf at index >= size and no node outside
// the tree of the given size is stored, in either layout.
func assertNoKeysBeyond(t *testing.T, db *pebble.DB, size uint64) {
	t.Helper()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{testPrefix}, UpperBound: []byte{testPrefix + 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		switch k[1] {
		case tagLeaf, tagEntry:
			if i := binary.BigEndian.Uint64(k[2:]); i >= size {
				t.Fatalf("leaf %d stored beyond size %d", i, size)
			}
		case tagNode:
			level, i := uint(k[2]), binary.BigEndian.Uint64(k[3:])
			if (i+1)<<level > size {
				t.Fatalf("node (%d, %d) stored beyond size %d", level, i, size)
			}
		case tagState:
		default:
			t.Fatalf("unexpected key %x", k)
		}
	}
}

// dumpPrefix returns all keys and values under prefix, interleaved.
func dumpPrefix(t testing.TB, db *pebble.DB, prefix byte) [][]byte {
	t.Helper()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, clone(it.Key()), clone(it.Value()))
	}
	return out
}

func TestDiscard(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	leaves, _ := buildLog(t, db, l, "d", 10)
	size, root := l.Size(), l.Root()

	for i := 0; i < 5; i++ {
		l.Append([]byte("dropped"))
	}
	l.Discard()
	if l.StagedSize() != size || !bytes.Equal(l.StagedRoot(), root) {
		t.Fatal("Discard did not drop staged leaves")
	}
	b := db.NewBatch()
	if err := l.Commit(b); err != nil {
		t.Fatal(err)
	}
	if !b.Empty() {
		t.Fatal("Commit with nothing staged wrote to the batch")
	}
	b.Close()

	// A Commit whose batch is never applied, followed by Discard.
	l.Append([]byte("dropped too"))
	b = db.NewBatch()
	if err := l.Commit(b); err != nil {
		t.Fatal(err)
	}
	b.Close()
	l.Discard()
	l.Committed() // No pending commit any more: no-op.
	if l.Size() != size || !bytes.Equal(l.Root(), root) || l.StagedSize() != size {
		t.Fatal("discarded commit changed the log")
	}

	if idx := l.Append([]byte("kept")); idx != size {
		t.Fatalf("Append after Discard returned %d, want %d", idx, size)
	}
	commitBlock(t, db, l)
	want := refMTH(append(leafHashes(leaves), refLeafHash([]byte("kept"))))
	if !bytes.Equal(l.Root(), want) {
		t.Fatal("root after Discard and append differs from reference")
	}
	if d, err := l.Leaf(size); err != nil || string(d) != "kept" {
		t.Fatalf("Leaf(%d) = %q, %v", size, d, err)
	}
}

// TestDiscardAtEverySize discards staged leaves at every committed size, so
// that discarded appends exercise every merge pattern of the compact range;
// they must leave no trace in the committed state.
func TestDiscardAtEverySize(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	var lh [][]byte
	for s := 0; s < 70; s++ {
		for k := 1; k <= 3; k++ {
			for j := 0; j < k; j++ {
				l.Append([]byte("discarded"))
			}
			if k == 2 {
				b := db.NewBatch()
				if err := l.Commit(b); err != nil {
					t.Fatal(err)
				}
				b.Close() // Never applied.
			}
			l.Discard()
		}
		d := leafData("das", s)
		l.Append(d)
		lh = append(lh, refLeafHash(d))
		commitBlock(t, db, l)
		if !bytes.Equal(l.Root(), refMTH(lh)) {
			t.Fatalf("root at size %d differs from reference after discards", len(lh))
		}
	}
	l2 := mustOpen(t, db, testPrefix)
	if !bytes.Equal(l2.Root(), l.Root()) {
		t.Fatal("reopened root differs")
	}
}

// TestAppendBetweenCommitAndCommitted checks that leaves appended after
// Commit stay staged and are not promoted by Committed.
func TestAppendBetweenCommitAndCommitted(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	var lh [][]byte
	add := func(n int) {
		for i := 0; i < n; i++ {
			d := leafData("p", len(lh))
			l.Append(d)
			lh = append(lh, refLeafHash(d))
		}
	}
	add(5)
	b := db.NewBatch()
	if err := l.Commit(b); err != nil {
		t.Fatal(err)
	}
	add(6)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	b.Close()
	l.Committed()
	if l.Size() != 5 || !bytes.Equal(l.Root(), refMTH(lh[:5])) {
		t.Fatalf("size %d after Committed, want 5", l.Size())
	}
	if l.StagedSize() != 11 || !bytes.Equal(l.StagedRoot(), refMTH(lh)) {
		t.Fatalf("staged size %d, want 11", l.StagedSize())
	}
	add(2)
	commitBlock(t, db, l)
	if l.Size() != 13 || !bytes.Equal(l.Root(), refMTH(lh)) {
		t.Fatal("root after second commit differs from reference")
	}
	for i := uint64(0); i < 13; i++ {
		p, err := l.InclusionProof(i, 13)
		if err != nil {
			t.Fatal(err)
		}
		if !equalProofs(p, refPath(int(i), lh)) {
			t.Fatalf("proof %d differs from reference", i)
		}
	}
	// State survives reopen.
	l2 := mustOpen(t, db, testPrefix)
	if l2.Size() != 13 || !bytes.Equal(l2.Root(), l.Root()) {
		t.Fatal("reopened state differs")
	}
}

func TestDeterminism(t *testing.T) {
	dbA, dbB := tempDB(t), tempDB(t)
	a, b := mustOpen(t, dbA, testPrefix), mustOpen(t, dbB, testPrefix)
	// A second log sharing dbA under another prefix must not interfere.
	other := mustOpen(t, dbA, testPrefix+1)
	n := 0
	for i := 0; n < 500; i++ {
		k := blockPattern[i%len(blockPattern)]
		for j := 0; j < k; j++ {
			d := leafData("det", n)
			a.Append(d)
			b.Append(d)
			other.Append([]byte("other"))
			n++
		}
		commitBlock(t, dbA, a)
		commitBlock(t, dbB, b)
		commitBlock(t, dbA, other)
		if !bytes.Equal(a.Root(), b.Root()) {
			t.Fatalf("roots differ at size %d", n)
		}
	}
	if da, db := dumpPrefix(t, dbA, testPrefix), dumpPrefix(t, dbB, testPrefix); !equalProofs(da, db) {
		t.Fatal("stored bytes differ")
	}
	if a.Size() != other.Size() || bytes.Equal(a.Root(), other.Root()) {
		t.Fatal("logs under different prefixes interfere")
	}
}

func TestLeafAndIterate(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	leaves, _ := buildLog(t, db, l, "it", 50)
	l.Append([]byte("staged only"))

	for i, want := range leaves {
		got, err := l.Leaf(uint64(i))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Leaf(%d) = %q, %v", i, got, err)
		}
		if got == nil {
			t.Fatalf("Leaf(%d) returned nil", i)
		}
	}
	if _, err := l.Leaf(50); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Leaf of staged index: %v, want ErrNotFound", err)
	}
	// Returned leaves are copies.
	got, _ := l.Leaf(3)
	got[0] ^= 0xff
	if again, _ := l.Leaf(3); !bytes.Equal(again, leaves[3]) {
		t.Fatal("Leaf returned shared memory")
	}
	// Appended leaves are copied.
	buf := []byte("mutable")
	l.Discard()
	l.Append(buf)
	root := l.StagedRoot()
	buf[0] = 'X'
	commitBlock(t, db, l)
	if !bytes.Equal(l.Root(), root) {
		t.Fatal("Append did not copy the leaf")
	}
	leaves = append(leaves, []byte("mutable"))

	for _, from := range []uint64{0, 1, 17, 50, 51, 52, 1000} {
		next := from
		if err := l.Iterate(from, func(i uint64, d []byte) bool {
			if i != next || !bytes.Equal(d, leaves[i]) {
				t.Fatalf("Iterate(%d): got index %d, want %d", from, i, next)
			}
			next++
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if want := max(from, 51); next != want {
			t.Fatalf("Iterate(%d) stopped at %d, want %d", from, next, want)
		}
	}
	count := 0
	if err := l.Iterate(10, func(uint64, []byte) bool { count++; return count < 3 }); err != nil || count != 3 {
		t.Fatalf("early stop: count %d err %v", count, err)
	}
}

// TestOpenCorruptState alters the state record of a log whose entries follow leaves of the
// earlier layout (the kind of log a commit still writes a record for), and removes its last
// entry.
func TestOpenCorruptState(t *testing.T) {
	db := tempDB(t)
	writeEarlierLayout(t, db, testPrefix, leavesOf("cs-old", 0, 20))
	l := mustOpen(t, db, testPrefix)
	for _, d := range leavesOf("cs", 0, 5) {
		l.Append(d)
	}
	commitBlock(t, db, l)
	state, closer, err := db.Get(l.stateKey())
	if err != nil {
		t.Fatal(err)
	}
	good := clone(state)
	closer.Close()

	for _, c := range []struct {
		name string
		v    []byte
	}{
		{"truncated", good[:len(good)-1]},
		{"version", append([]byte{99}, good[1:]...)},
		{"wrong size", append(append([]byte{}, good[:8]...), append([]byte{21}, good[9:]...)...)},
		{"flipped range", append(append([]byte{}, good[:len(good)-1]...), good[len(good)-1]^1)},
	} {
		if err := db.Set(l.stateKey(), c.v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(db, testPrefix); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Open = %v, want ErrCorrupt", c.name, err)
		}
	}
	if err := db.Set(l.stateKey(), good, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(db, testPrefix); err != nil {
		t.Fatal(err)
	}
	// The record was written at size 25: an entry below it cannot be the last.
	if err := db.Delete(l.entryKey(24), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(db, testPrefix); !errors.Is(err, ErrCorrupt) {
		t.Errorf("last entry removed: Open = %v, want ErrCorrupt", err)
	}
}

func equalProofs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestTruncateToCurrentSizeRemovesUnpromotedWrites covers a batch that was
// applied without Committed being called: truncating to the committed size
// must still remove what that batch wrote, durably.
func TestTruncateToCurrentSizeRemovesUnpromotedWrites(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	l := mustOpen(t, db, testPrefix)
	leaves, _ := buildLog(t, db, l, "u", 37)
	root := l.Root()
	for i := 0; i < 100; i++ {
		l.Append(leafData("lost", i))
	}
	b := db.NewBatch()
	if err := l.Commit(b); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := l.TruncateTo(l.Size()); err != nil {
		t.Fatal(err)
	}
	assertNoKeysBeyond(t, db, 37)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir)
	defer db.Close()
	l = mustOpen(t, db, testPrefix)
	if l.Size() != 37 || !bytes.Equal(l.Root(), root) || !bytes.Equal(root, refMTH(leafHashes(leaves))) {
		t.Fatalf("after reopen: size %d root %x", l.Size(), l.Root())
	}
	assertNoKeysBeyond(t, db, 37)
}

// TestConcurrentReads serves proofs while blocks are appended and committed.
func TestConcurrentReads(t *testing.T) {
	db := tempDB(t)
	l := mustOpen(t, db, testPrefix)
	buildLog(t, db, l, "cc", 10)
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for {
			select {
			case <-done:
				return
			default:
			}
			size := l.Size()
			root, err := l.RootAt(size)
			if err != nil {
				errc <- err
				return
			}
			index := size / 2
			p, err := l.InclusionProof(index, size)
			if err != nil {
				errc <- err
				return
			}
			leaf, err := l.Leaf(index)
			if err != nil {
				errc <- err
				return
			}
			if err := VerifyInclusion(index, size, leaf, p, root); err != nil {
				errc <- err
				return
			}
		}
	}()
	for i := 0; i < 200; i++ {
		l.Append(leafData("cc", 10+i))
		_ = l.StagedRoot()
		commitBlock(t, db, l)
	}
	close(done)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
