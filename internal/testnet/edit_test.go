package testnet

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble"
)

// editState replaces old with new (same length) in every stored value of a stopped node's
// state database that holds it, the way someone with disk access would, and returns how many
// values it changed.
func editState(t *testing.T, home, old, new string) int {
	t.Helper()
	db, err := pebble.Open(filepath.Join(home, "app", "state.db"), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	type kv struct{ k, v []byte }
	var edits []kv
	for it.First(); it.Valid(); it.Next() {
		if bytes.Contains(it.Value(), []byte(old)) {
			edits = append(edits, kv{bytes.Clone(it.Key()), bytes.ReplaceAll(it.Value(), []byte(old), []byte(new))})
		}
	}
	it.Close()
	for _, e := range edits {
		if err := db.Set(e.k, e.v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	return len(edits)
}
