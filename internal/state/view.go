package state

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
	"github.com/cosmos/iavl"

	"github.com/ehrchain/ehrchain/internal/merklelog"
	"github.com/ehrchain/ehrchain/internal/stateproof"
)

// View is an immutable snapshot of one committed height.
type View struct {
	height  int64
	tree    *iavl.ImmutableTree // nil before the first block
	raw     *pebble.DB
	log     *merklelog.Log
	logSize uint64
	decoded *decoded                    // the store's decode caches
	retired *atomic.Pointer[retiredSet] // the store's retired prefixes (retired.go)
}

// Height of the snapshot.
func (v *View) Height() int64 { return v.height }

// LogSize is the number of events committed at this height.
func (v *View) LogSize() uint64 { return v.logSize }

// Get reads a key; nil if absent.
func (v *View) Get(key []byte) []byte {
	if v.tree == nil {
		return nil
	}
	b, err := v.tree.Get(key)
	if err != nil {
		return nil
	}
	return b
}

// Iterate calls fn for each key with prefix, in key order, until fn returns false.
func (v *View) Iterate(prefix []byte, fn func(key, value []byte) bool) {
	if v.tree == nil {
		return
	}
	v.tree.IterateRange(prefix, PrefixEnd(prefix), true, func(k, val []byte) bool { return !fn(k, val) })
}

// IterateFrom is Iterate starting at the first key with prefix that is not before from:
// a page of an index is read without walking the pages before it.
func (v *View) IterateFrom(prefix, from []byte, fn func(key, value []byte) bool) {
	if v.tree == nil {
		return
	}
	if bytes.Compare(from, prefix) < 0 {
		from = prefix
	}
	v.tree.IterateRange(from, PrefixEnd(prefix), true, func(k, val []byte) bool { return !fn(k, val) })
}

// GetIndex reads a committed derived index entry.
func (v *View) GetIndex(key []byte) []byte {
	if v.retired.Load().absent(key) {
		return nil
	}
	b, _ := get(v.raw, indexKey(key))
	return b
}

// get reads a copy of key's value; nil, nil if absent.
func get(r pebble.Reader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// Leaf reads a committed event log entry.
func (v *View) Leaf(index uint64) ([]byte, error) {
	if index >= v.logSize {
		return nil, fmt.Errorf("event %d does not exist at height %d (log size %d)", index, v.height, v.logSize)
	}
	return v.log.Leaf(index)
}

// Proof is an ICS-23 proof of a key's current value (or absence) in the state map, plus the
// other inputs of the app hash so a client can recompute it.
type Proof struct {
	Height  int64  `json:"height"`
	Map     []byte `json:"map"` // ICS-23 CommitmentProof, protobuf-encoded
	MapRoot []byte `json:"map_root"`
	LogRoot []byte `json:"log_root"`
	LogSize uint64 `json:"log_size"`
	AppHash []byte `json:"app_hash"`
}

// Prove returns a proof for key at this height.
func (v *View) Prove(key []byte) (*Proof, error) {
	if v.tree == nil {
		return nil, errors.New("no committed state yet")
	}
	p, err := v.tree.GetProof(key)
	if err != nil {
		return nil, err
	}
	root, err := v.log.RootAt(v.logSize)
	if err != nil {
		return nil, err
	}
	mapRoot := v.tree.Hash()
	pb, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	return &Proof{Height: v.height, Map: pb, MapRoot: mapRoot, LogRoot: root, LogSize: v.logSize,
		AppHash: AppHash(mapRoot, root, v.logSize)}, nil
}

// Verify checks that value is key's value (nil: absent) under appHash.
func (p *Proof) Verify(appHash, key, value []byte) error {
	return stateproof.Verify(appHash, p.MapRoot, p.LogRoot, p.LogSize, p.Map, key, value)
}

// PrefixEnd is the first key after every key that starts with prefix (nil: no bound), the
// upper bound of a prefix scan.
func PrefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// IterateIndex calls fn for each committed derived index entry with prefix, in key order,
// until fn returns false. Keys are given without the index prefix byte.
func (v *View) IterateIndex(prefix []byte, fn func(key, value []byte) bool) error {
	return iterateIndex(v.raw, prefix, nil, func(k, val []byte) (bool, error) { return fn(k, val), nil })
}
