package state

import (
	"bytes"
	"testing"

	"github.com/cockroachdb/pebble"
)

// TestCheckCommittedCatchesWhatOpenTrusts edits a value inside a stored state-map leaf. Open
// trusts the stored node hashes and accepts the database (and would serve the edited value);
// CheckCommitted recomputes the root and refuses it.
func TestCheckCommittedCatchesWhatOpenTrusts(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	commitBlocks(t, s, 1, 3)
	s.Close()
	if err := CheckCommitted(dir); err != nil {
		t.Fatalf("untouched database: %v", err)
	}

	db, err := pebble.Open(dir+"/state.db", &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	edited := 0
	it, _ := db.NewIter(nil)
	for it.First(); it.Valid(); it.Next() {
		if i := bytes.Index(it.Value(), []byte("v2")); i >= 0 && bytes.HasPrefix(it.Key(), treePrefix) {
			v := bytes.Clone(it.Value())
			v[i+1] = '9' // "v2" -> "v9"
			if err := db.Set(bytes.Clone(it.Key()), v, pebble.Sync); err != nil {
				t.Fatal(err)
			}
			edited++
		}
	}
	it.Close()
	db.Close()
	if edited == 0 {
		t.Fatal("found no stored leaf holding the value to edit")
	}

	s = openT(t, dir)
	got := s.Committed().Get([]byte("k/2"))
	s.Close()
	if string(got) != "v9" {
		t.Fatalf("Open served %q for the edited key; the test no longer edits what Open trusts", got)
	}
	if err := CheckCommitted(dir); err == nil {
		t.Fatal("an edited state value passed the start-up check")
	}
}

func TestCheckCommittedNewNode(t *testing.T) {
	if err := CheckCommitted(t.TempDir()); err != nil {
		t.Fatalf("no database yet: %v", err)
	}
}
