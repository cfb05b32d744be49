package state

import (
	"sort"
)

// Reader reads state. The working state of a block, a transaction's overlay and a committed
// View all satisfy it, so domain rules read the same way inside and outside consensus.
type Reader interface {
	Get(key []byte) []byte
}

// Tx buffers one transaction's writes over the block's working state, so that a
// transaction rejected half-way changes nothing. Flush applies the writes in key order.
type Tx struct {
	s      *Store
	writes map[string][]byte
	dels   map[string]bool
	leaves [][]byte
	index  map[string][]byte
	idels  map[string]bool // index entries removed (erasure)
}

// Begin starts a transaction overlay.
func (s *Store) Begin() *Tx {
	return &Tx{s: s}
}

// Get reads through the overlay.
func (t *Tx) Get(key []byte) []byte {
	if t.dels[string(key)] {
		return nil
	}
	if v, ok := t.writes[string(key)]; ok {
		return v
	}
	return t.s.Get(key)
}

// Set buffers a write.
func (t *Tx) Set(key, value []byte) {
	if t.writes == nil {
		t.writes = map[string][]byte{}
	}
	delete(t.dels, string(key))
	t.writes[string(key)] = value
}

// Delete buffers a removal.
func (t *Tx) Delete(key []byte) {
	if t.dels == nil {
		t.dels = map[string]bool{}
	}
	delete(t.writes, string(key))
	t.dels[string(key)] = true
}

// Append buffers an event log leaf and returns the index it will have.
func (t *Tx) Append(leaf []byte) uint64 {
	t.leaves = append(t.leaves, leaf)
	return t.s.log.StagedSize() + uint64(len(t.leaves)) - 1
}

// PutIndex buffers a derived index entry.
func (t *Tx) PutIndex(key, value []byte) {
	if t.index == nil {
		t.index = map[string][]byte{}
	}
	delete(t.idels, string(key))
	t.index[string(key)] = value
}

// DeleteIndex buffers the removal of a derived index entry.
func (t *Tx) DeleteIndex(key []byte) {
	if t.idels == nil {
		t.idels = map[string]bool{}
	}
	delete(t.index, string(key))
	t.idels[string(key)] = true
}

// GetIndex reads a derived index entry through the overlay.
func (t *Tx) GetIndex(key []byte) []byte {
	if t.idels[string(key)] {
		return nil
	}
	if v, ok := t.index[string(key)]; ok {
		return v
	}
	return t.s.GetIndex(key)
}

// Flush applies the buffered writes to the block's working state in a deterministic order.
func (t *Tx) Flush() {
	for _, k := range sortedKeys(t.writes) {
		t.s.Set([]byte(k), t.writes[k])
	}
	for _, k := range sortedKeys(t.dels) {
		t.s.Delete([]byte(k))
	}
	for _, l := range t.leaves {
		t.s.Append(l)
	}
	for _, k := range sortedKeys(t.index) {
		t.s.PutIndex([]byte(k), t.index[k])
	}
	for _, k := range sortedKeys(t.idels) {
		t.s.DeleteIndex([]byte(k))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
