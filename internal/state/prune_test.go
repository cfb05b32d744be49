package state

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// pruneChain commits heights 1..n, some without any map write (so a later version refers
// to an earlier root), and returns the app hash of each height.
func pruneChain(t *testing.T, s *Store, n int64, pruneKeep int64) map[int64][]byte {
	t.Helper()
	hashes := map[int64][]byte{}
	for h := int64(1); h <= n; h++ {
		tx := s.Begin()
		if h%4 != 0 { // every fourth block writes only an event
			tx.Set([]byte(fmt.Sprintf("k/%d", h%7)), []byte(fmt.Sprintf("v%d", h)))
			if h%5 == 0 {
				tx.Delete([]byte(fmt.Sprintf("k/%d", (h+3)%7)))
			}
		}
		tx.Append([]byte(fmt.Sprintf("event %d", h)))
		tx.Flush()
		c, err := s.Commit(h)
		if err != nil {
			t.Fatal(err)
		}
		hashes[h] = c.AppHash
		if pruneKeep > 0 && h > pruneKeep {
			if err := s.PruneVersionsTo(h - pruneKeep); err != nil {
				t.Fatalf("prune at %d: %v", h, err)
			}
		}
	}
	return hashes
}

func TestPruneVersionsKeepsHashesAndRecentVersions(t *testing.T) {
	full := openT(t, t.TempDir())
	defer full.Close()
	want := pruneChain(t, full, 40, 0)

	dir := t.TempDir()
	s := openT(t, dir)
	got := pruneChain(t, s, 40, 5)
	for h := int64(1); h <= 40; h++ {
		if !bytes.Equal(got[h], want[h]) {
			t.Fatalf("height %d: app hash %X with pruning, %X without", h, got[h], want[h])
		}
	}
	if first, err := s.FirstVersion(); err != nil || first != 36 {
		t.Fatalf("first kept version = %d, %v; want 36", first, err)
	}
	if first, _ := full.FirstVersion(); first != 1 {
		t.Fatalf("unpruned store's first version = %d", first)
	}
	// Pruning the last commit, or what is already gone, is refused or a no-op.
	if err := s.PruneVersionsTo(40); err == nil {
		t.Fatal("pruning the last commit was accepted")
	}
	if err := s.PruneVersionsTo(10); err != nil {
		t.Fatalf("pruning already pruned versions: %v", err)
	}
	s.Close()

	// The pruned database reopens, passes the start check, and every kept version
	// recomputes to the root it was committed with.
	if err := CheckCommitted(dir); err != nil {
		t.Fatal(err)
	}
	snap, err := OpenSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	if first, err := snap.FirstVersion(); err != nil || first != 36 {
		t.Fatalf("snapshot's first version = %d, %v", first, err)
	}
	mc := snap.MapChecker()
	fv := full.reader
	for h := int64(36); h <= 40; h++ {
		root, err := mc.Root(h, nil)
		if err != nil {
			t.Fatalf("version %d: %v", h, err)
		}
		stored, err := snap.MapRoot(h)
		if err != nil {
			t.Fatal(err)
		}
		it, _ := fv.GetImmutable(h)
		if !bytes.Equal(root, it.Hash()) || !bytes.Equal(stored, root) {
			t.Fatalf("version %d: recomputed %X, stored %X, unpruned %X", h, root, stored, it.Hash())
		}
	}
	var d *Damage
	if _, err := mc.Root(35, nil); !errors.As(err, &d) {
		t.Fatalf("a pruned version did not read as missing: %v", err)
	}
	snap.Close()
	s = openT(t, dir)
	defer s.Close()
	if c := s.LastCommit(); !bytes.Equal(c.AppHash, want[40]) {
		t.Fatalf("reopened at %X, want %X", c.AppHash, want[40])
	}
}

// An export of a pruned store restores to the same app hash.
func TestPrunedStoreExports(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	want := pruneChain(t, s, 30, 3)
	ex := exportT(t, s)
	stream := exportBytes(t, ex)
	ex.Close()
	dst := openT(t, t.TempDir())
	defer dst.Close()
	c, err := restoreInto(t, dst, 30, stream, 1000, want[30])
	if err != nil || !bytes.Equal(c.AppHash, want[30]) {
		t.Fatalf("restore of a pruned store: %+v, %v", c, err)
	}
}
