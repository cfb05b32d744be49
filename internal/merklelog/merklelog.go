// Package merklelog implements an RFC 6962 append-only Merkle log stored in
// pebble.
//
// The log keeps, per one-byte key prefix, one key per leaf:
//
//	prefix|'e'|index          the hashes of the nodes the leaf completed, then the leaf bytes
//	prefix|'s'                where entries start, with the size and compact range then
//
// (index: uint64 big-endian). The committed size is one past the last entry (or the state
// record's size, where no entry follows it), and the compact range is read from the stored
// nodes, so a commit writes only its entries: no key is rewritten at every block, and the
// tables a flush makes of new entries overlap nothing older, so the database moves them
// down its levels instead of rewriting them. The state record is written only where
// entries start after leaves of the earlier layout, or by TruncateTo.
//
// Appending leaf i completes the tree nodes (level k, index i>>k) for k = 0 (its RFC 6962
// leaf hash) up to the number of trailing one bits of i, so its entry opens with that many
// plus one hashes, level 0 first, and node (level, j) is found in the entry of leaf
// ((j+1)<<level)-1. A node is stored once the perfect subtree under it is complete, and is
// never modified afterwards, so the root of any historical size and every inclusion or
// consistency proof can be assembled from O(log n) stored hashes. Appending a leaf costs
// amortized O(1) hashes and exactly one key write, and it reads nothing from the store:
// unlike a balanced tree, it does not slow down as the log grows.
//
// Logs written before kept a leaf and each node under keys of their own:
//
//	prefix|'l'|index          leaf bytes
//	prefix|'n'|level|index    hash of a completed tree node   (level: 1 byte)
//
// They are read as they are; leaves appended to such a log from its size at the
// time of the first commit on (the state's "from") are entries.
//
// Appends are staged in memory during a block. Commit writes them into the caller's batch
// so they become durable atomically with the caller's other writes; Committed then
// promotes the staged state once that batch has been applied. All operations are
// deterministic: they depend only on the sequence of calls and the stored data.
package merklelog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble"
	"github.com/transparency-dev/merkle/compact"
	mproof "github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// HashSize is the size in bytes of every hash in the log (SHA-256).
const HashSize = 32

const (
	tagLeaf  = 'l' // a leaf of the earlier layout
	tagNode  = 'n' // a node of the earlier layout
	tagEntry = 'e'
	tagState = 's'

	stateV1      = 1 // size and compact range: every leaf in the earlier layout
	stateVersion = 2 // size, from, compact range
	// maxLevel bounds node levels: a tree of at most 2^64-1 leaves has no
	// perfect subtree of height above 63.
	maxLevel = 63
)

var (
	// ErrNotFound is returned for a leaf index at or beyond the committed size.
	ErrNotFound = errors.New("merklelog: not found")
	// ErrOutOfRange is returned for a size or index that the committed log
	// cannot serve (e.g. a size larger than the committed size).
	ErrOutOfRange = errors.New("merklelog: out of range")
	// ErrCorrupt is returned when stored data is missing or malformed.
	ErrCorrupt = errors.New("merklelog: corrupt store")
)

var (
	hasher  = rfc6962.DefaultHasher
	factory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
)

// rangeState is an immutable snapshot of a compact range [0, size).
type rangeState struct {
	size   uint64
	hashes [][]byte // compact range hashes, left to right; never modified in place
	root   []byte
}

// pendingCommit records what the last Commit wrote, so that Committed
// promotes exactly that state even if more leaves were appended in between.
type pendingCommit struct {
	state  rangeState
	leaves int  // number of staged entries written
	record bool // it wrote the state record
}

// Log is an RFC 6962 append-only Merkle log stored in pebble under a one-byte
// key prefix. Appends are staged in memory during a block and written by
// Commit into the caller's batch, so the caller can make them atomic with its
// other writes.
//
// A Log is safe for concurrent use. Read methods only serve committed data.
type Log struct {
	mu     sync.RWMutex
	db     *pebble.DB
	prefix byte

	committed rangeState
	// from is the first leaf stored as an entry; the leaves before it, and the nodes
	// they completed, are in the earlier layout. Only TruncateTo lowers it.
	from uint64
	// recorded: the stored state record holds from, or none is needed (from is 0).
	recorded bool

	// Staged state. staged is nil iff nothing is staged.
	staged     *compact.Range
	entries    [][]byte // staged entries; entries[i] is leaf committed.size+i's
	stagedRoot []byte   // cached root of staged; nil when stale
	pending    *pendingCommit
}

// Open loads the committed size and compact range of the log stored under
// prefix in db. A prefix with no stored state is an empty log.
func Open(db *pebble.DB, prefix byte) (*Log, error) {
	if db == nil {
		return nil, errors.New("merklelog: nil db")
	}
	l := &Log{db: db, prefix: prefix}
	s, err := loadState(db, prefix)
	if err != nil {
		return nil, err
	}
	l.from, l.recorded = s.from, s.recorded
	// The record's compact range must agree with the stored nodes that proofs use.
	ids := compact.RangeNodes(0, s.record.size, nil)
	stored, err := l.readNodes(ids)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if !bytes.Equal(stored[i], s.record.hashes[i]) {
			return nil, fmt.Errorf("%w: compact range node (level %d, index %d) differs from stored node", ErrCorrupt, id.Level, id.Index)
		}
	}
	l.committed = s.record
	if s.size != s.record.size {
		if l.committed, err = l.rangeAt(s.size); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Size returns the committed size.
func (l *Log) Size() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.committed.size
}

// Root returns the committed root (SHA-256 of the empty string for size 0).
func (l *Log) Root() []byte {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return clone(l.committed.root)
}

// Append stages a copy of leaf and returns its index.
func (l *Log) Append(leaf []byte) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.staged == nil {
		r, err := newRange(l.committed)
		if err != nil {
			// committed.hashes always matches committed.size.
			panic(err)
		}
		l.staged = r
	}
	index := l.staged.End()
	n := entryHashes(index)
	e := make([]byte, n*HashSize, n*HashSize+len(leaf))
	completed := 0
	err := l.staged.Append(hasher.HashLeaf(leaf), func(id compact.NodeID, hash []byte) {
		// The range reports the nodes this leaf completes, level 0 first.
		if completed >= n || id.Level != uint(completed) || id.Index != index>>completed {
			panic(fmt.Sprintf("merklelog: leaf %d completed node (level %d, index %d) out of order", index, id.Level, id.Index))
		}
		copy(e[completed*HashSize:], hash)
		completed++
	})
	if err != nil {
		// Appending a single hash to a well-formed range cannot fail.
		panic(fmt.Sprintf("merklelog: append: %v", err))
	}
	if completed != n {
		panic(fmt.Sprintf("merklelog: leaf %d completed %d nodes, want %d", index, completed, n))
	}
	l.entries = append(l.entries, append(e, leaf...))
	l.stagedRoot = nil
	return index
}

// StagedSize returns the size including staged leaves.
func (l *Log) StagedSize() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.staged == nil {
		return l.committed.size
	}
	return l.staged.End()
}

// StagedRoot returns the root including staged leaves. It costs O(log n)
// hashes and is cached until the next Append.
func (l *Log) StagedRoot() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.staged == nil {
		return clone(l.committed.root)
	}
	if l.stagedRoot == nil {
		l.stagedRoot = rootOf(l.staged)
	}
	return clone(l.stagedRoot)
}

// Commit writes the staged leaves' entries (each with the hashes of the nodes it
// completed) into b, and the state record if where entries start is not yet recorded. It
// does not change the committed state: after b has been applied, call Committed. If b is
// not applied, call Discard (or Commit again into a new batch). Commit with nothing
// staged writes nothing.
func (l *Log) Commit(b *pebble.Batch) error {
	if b == nil {
		return errors.New("merklelog: nil batch")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = nil
	if l.staged == nil {
		return nil
	}
	base := l.committed.size
	for i, e := range l.entries {
		if err := b.Set(l.entryKey(base+uint64(i)), e, nil); err != nil {
			return fmt.Errorf("merklelog: write leaf: %w", err)
		}
	}
	st := rangeState{
		size:   l.staged.End(),
		hashes: append([][]byte(nil), l.staged.Hashes()...),
	}
	if l.stagedRoot == nil {
		l.stagedRoot = rootOf(l.staged)
	}
	st.root = l.stagedRoot
	if !l.recorded {
		if err := b.Set(l.stateKey(), encodeState(st, l.from), nil); err != nil {
			return fmt.Errorf("merklelog: write state: %w", err)
		}
	}
	l.pending = &pendingCommit{state: st, leaves: len(l.entries), record: !l.recorded}
	return nil
}

// Committed makes the state written by the last Commit the committed state.
// Call it only after the batch passed to Commit has been applied. Leaves
// appended after that Commit stay staged. Without a preceding Commit it does
// nothing.
func (l *Log) Committed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pending
	if p == nil {
		return
	}
	l.pending = nil
	l.committed = p.state
	l.recorded = l.recorded || p.record
	if p.leaves == len(l.entries) {
		l.clearStaged()
		return
	}
	l.entries = append([][]byte(nil), l.entries[p.leaves:]...)
}

// Discard drops all staged leaves, including ones written by a Commit whose
// batch was not applied.
func (l *Log) Discard() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearStaged()
}

func (l *Log) clearStaged() {
	l.staged = nil
	l.entries = nil
	l.stagedRoot = nil
	l.pending = nil
}

// Leaf returns a copy of the committed leaf at index, or ErrNotFound.
func (l *Log) Leaf(index uint64) ([]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if index >= l.committed.size {
		return nil, fmt.Errorf("%w: leaf %d (size %d)", ErrNotFound, index, l.committed.size)
	}
	key := l.leafKey(index)
	if index >= l.from {
		key = l.entryKey(index)
	}
	v, err := l.get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: missing leaf %d", ErrCorrupt, index)
	}
	if err != nil {
		return nil, fmt.Errorf("merklelog: read leaf %d: %w", index, err)
	}
	if index >= l.from {
		return entryLeaf(index, v)
	}
	return v, nil
}

// RootAt returns the root of the first size leaves, for size up to the
// committed size, from stored node hashes.
func (l *Log) RootAt(size uint64) ([]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if size > l.committed.size {
		return nil, fmt.Errorf("%w: size %d > committed size %d", ErrOutOfRange, size, l.committed.size)
	}
	if size == l.committed.size {
		return clone(l.committed.root), nil
	}
	st, err := l.rangeAt(size)
	if err != nil {
		return nil, err
	}
	return st.root, nil
}

// InclusionProof returns the RFC 6962 audit path for the leaf at index in the
// tree of the given size (index < size <= committed size).
func (l *Log) InclusionProof(index, size uint64) ([][]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if size > l.committed.size {
		return nil, fmt.Errorf("%w: size %d > committed size %d", ErrOutOfRange, size, l.committed.size)
	}
	if index >= size {
		return nil, fmt.Errorf("%w: index %d >= size %d", ErrOutOfRange, index, size)
	}
	nodes, err := mproof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutOfRange, err)
	}
	return l.buildProof(nodes)
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees of
// size1 and size2 (size1 <= size2 <= committed size). It is empty if size1 is 0
// or equals size2.
func (l *Log) ConsistencyProof(size1, size2 uint64) ([][]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if size2 > l.committed.size {
		return nil, fmt.Errorf("%w: size %d > committed size %d", ErrOutOfRange, size2, l.committed.size)
	}
	if size1 > size2 {
		return nil, fmt.Errorf("%w: size1 %d > size2 %d", ErrOutOfRange, size1, size2)
	}
	nodes, err := mproof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutOfRange, err)
	}
	return l.buildProof(nodes)
}

func (l *Log) buildProof(nodes mproof.Nodes) ([][]byte, error) {
	hashes, err := l.readNodes(nodes.IDs)
	if err != nil {
		return nil, err
	}
	p, err := nodes.Rehash(hashes, hasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("merklelog: build proof: %w", err)
	}
	return p, nil
}

// TruncateTo is crash recovery for the case where the process died after the
// log's batch was applied but before the surrounding state was. It deletes all
// leaves and node hashes at or beyond size, restores the committed size and
// compact range to size (rebuilt from stored node hashes, which are never
// modified once written), durably applies this in one synced batch, and drops
// any staged leaves. size must not exceed the committed size loaded by Open.
// Truncating to the current size is allowed and also removes anything stored
// beyond it.
func (l *Log) TruncateTo(size uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if size > l.committed.size {
		return fmt.Errorf("%w: truncate to %d > committed size %d", ErrOutOfRange, size, l.committed.size)
	}
	l.clearStaged()
	st, err := l.rangeAt(size)
	if err != nil {
		return err
	}

	b := l.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(l.entryKey(size), []byte{l.prefix, tagEntry + 1}, nil); err != nil {
		return fmt.Errorf("merklelog: truncate leaves: %w", err)
	}
	if err := b.DeleteRange(l.leafKey(size), []byte{l.prefix, tagLeaf + 1}, nil); err != nil {
		return fmt.Errorf("merklelog: truncate leaves: %w", err)
	}
	// A node (level, i) is part of the tree of size leaves iff (i+1)<<level <=
	// size, i.e. i < size>>level. Every level is cleared, not only those the
	// committed size reaches, so that nothing written beyond it survives.
	for level := uint(0); level <= maxLevel; level++ {
		start := l.nodeKey(level, size>>level)
		end := []byte{l.prefix, tagNode, byte(level + 1)}
		if err := b.DeleteRange(start, end, nil); err != nil {
			return fmt.Errorf("merklelog: truncate nodes: %w", err)
		}
	}
	// Leaves appended from size on are entries, wherever the earlier layout ended. A log
	// all in entries needs no state record: its size is one past its last entry.
	from := min(l.from, size)
	if from == 0 {
		if err := b.Delete(l.stateKey(), nil); err != nil {
			return fmt.Errorf("merklelog: delete state: %w", err)
		}
	} else if err := b.Set(l.stateKey(), encodeState(st, from), nil); err != nil {
		return fmt.Errorf("merklelog: write state: %w", err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("merklelog: truncate: %w", err)
	}
	l.committed, l.from, l.recorded = st, from, true
	return nil
}

// Iterate calls fn with each committed leaf (a copy) from index from onwards,
// in index order, until fn returns false. It iterates over a consistent
// snapshot and does not hold the log's lock while calling fn.
func (l *Log) Iterate(from uint64, fn func(index uint64, leaf []byte) bool) error {
	l.mu.RLock()
	size, entriesFrom := l.committed.size, l.from
	if from >= size {
		l.mu.RUnlock()
		return nil
	}
	snap := l.db.NewSnapshot()
	l.mu.RUnlock()
	defer snap.Close()
	return iterate(snap, l.prefix, entriesFrom, from, size, func(index uint64, leaf []byte) (bool, error) {
		return fn(index, clone(leaf)), nil
	})
}

// iterate calls fn with each leaf of [lo, hi) stored in r under prefix, in index order,
// until fn returns false or an error: those before entriesFrom from the earlier layout's
// leaf keys, the rest from the entries. The leaf is only valid during the call.
func iterate(r pebble.Reader, prefix byte, entriesFrom, lo, hi uint64, fn func(index uint64, leaf []byte) (bool, error)) error {
	l := &Log{prefix: prefix}
	next := lo
	scan := func(tag byte, end uint64) error {
		if next >= end {
			return nil
		}
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: l.key(tag, next), UpperBound: l.key(tag, end)})
		if err != nil {
			return fmt.Errorf("merklelog: iterate: %w", err)
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			idx, valid := l.parseKey(tag, it.Key())
			if !valid || idx != next {
				return fmt.Errorf("%w: unexpected leaf key %x, want index %d", ErrCorrupt, it.Key(), next)
			}
			v, err := it.ValueAndErr()
			if err != nil {
				return fmt.Errorf("merklelog: iterate: %w", err)
			}
			if tag == tagEntry {
				if v, err = entryLeaf(idx, v); err != nil {
					return err
				}
			}
			more, err := fn(idx, v)
			if err != nil || !more {
				next = hi // stopped: nothing is missing
				return err
			}
			next++
		}
		if err := it.Error(); err != nil {
			return fmt.Errorf("merklelog: iterate: %w", err)
		}
		if next != end {
			return fmt.Errorf("%w: missing leaf %d", ErrCorrupt, next)
		}
		return nil
	}
	if err := scan(tagLeaf, min(entriesFrom, hi)); err != nil {
		return err
	}
	return scan(tagEntry, hi)
}

// rangeAt rebuilds the compact range [0, size) from stored node hashes.
// size must not exceed the committed size.
func (l *Log) rangeAt(size uint64) (rangeState, error) {
	hashes, err := l.readNodes(compact.RangeNodes(0, size, nil))
	if err != nil {
		return rangeState{}, err
	}
	st := rangeState{size: size, hashes: hashes}
	r, err := newRange(st)
	if err != nil {
		return rangeState{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	st.root = rootOf(r)
	return st, nil
}

// readNodes returns copies of the stored hashes of the given nodes. One iterator
// per layout serves all of them, which is cheaper than one point lookup per node
// and reads from one consistent snapshot.
func (l *Log) readNodes(ids []compact.NodeID) ([][]byte, error) {
	hashes := make([][]byte, len(ids))
	if len(ids) == 0 {
		return hashes, nil
	}
	// Where each node is: the entry of the leaf that completed it, or its own key.
	type loc struct {
		i   int
		key []byte
		at  int // offset of its hash in the entry; -1: a node key
	}
	var old, entries []loc
	for i, id := range ids {
		if leaf := ((id.Index + 1) << id.Level) - 1; id.Level <= maxLevel && leaf >= l.from && leaf>>id.Level == id.Index {
			entries = append(entries, loc{i, l.entryKey(leaf), int(id.Level) * HashSize})
		} else {
			old = append(old, loc{i, l.nodeKey(id.Level, id.Index), -1})
		}
	}
	// Both layouts are read from one snapshot; one alone from one iterator.
	var r pebble.Reader = l.db
	if len(old) > 0 && len(entries) > 0 {
		snap := l.db.NewSnapshot()
		defer snap.Close()
		r = snap
	}
	for _, group := range [][]loc{old, entries} {
		if len(group) == 0 {
			continue
		}
		tag := group[0].key[1]
		it, err := r.NewIter(&pebble.IterOptions{
			LowerBound: []byte{l.prefix, tag},
			UpperBound: []byte{l.prefix, tag + 1},
		})
		if err != nil {
			return nil, fmt.Errorf("merklelog: read nodes: %w", err)
		}
		// Seek in key order so that the iterator only moves forward.
		sort.Slice(group, func(a, b int) bool {
			if c := bytes.Compare(group[a].key, group[b].key); c != 0 {
				return c < 0
			}
			return group[a].at < group[b].at
		})
		at := false // positioned at the previous node's key
		for k, n := range group {
			id := ids[n.i]
			if !(at && bytes.Equal(group[k-1].key, n.key)) {
				at = it.SeekGE(n.key) && bytes.Equal(it.Key(), n.key)
			}
			if !at {
				err := it.Error()
				it.Close()
				if err != nil {
					return nil, fmt.Errorf("merklelog: read node: %w", err)
				}
				return nil, fmt.Errorf("%w: missing node (level %d, index %d)", ErrCorrupt, id.Level, id.Index)
			}
			v, err := it.ValueAndErr()
			if err != nil {
				it.Close()
				return nil, fmt.Errorf("merklelog: read node: %w", err)
			}
			if n.at >= 0 {
				// An entry opens with the hashes of levels 0 up to its leaf's trailing one bits.
				leaf, _ := l.parseKey(tagEntry, n.key)
				if entryHashes(leaf)*HashSize > len(v) {
					it.Close()
					return nil, fmt.Errorf("%w: entry %d has %d bytes", ErrCorrupt, leaf, len(v))
				}
				v = v[n.at : n.at+HashSize]
			} else if len(v) != HashSize {
				it.Close()
				return nil, fmt.Errorf("%w: node (level %d, index %d) has %d bytes", ErrCorrupt, id.Level, id.Index, len(v))
			}
			hashes[n.i] = clone(v)
		}
		if err := it.Close(); err != nil {
			return nil, fmt.Errorf("merklelog: read nodes: %w", err)
		}
	}
	return hashes, nil
}

// loaded is what the store holds of a log.
type loaded struct {
	record   rangeState // the state record's size and compact range (size 0: no record)
	from     uint64     // the first leaf stored as an entry
	recorded bool       // the record holds from, or none is needed
	size     uint64     // the committed size: one past the last entry, or the record's size
}

// loadState reads the state record of the log under prefix in r and finds its committed size.
func loadState(r pebble.Reader, prefix byte) (loaded, error) {
	l := &Log{prefix: prefix}
	s := loaded{record: rangeState{root: hasher.EmptyRoot()}, recorded: true}
	v, closer, err := r.Get(l.stateKey())
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return loaded{}, fmt.Errorf("merklelog: read state: %w", err)
	default:
		st, from, v1, err := decodeState(v)
		closer.Close()
		if err != nil {
			return loaded{}, err
		}
		r2, err := newRange(st)
		if err != nil {
			return loaded{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		st.root = rootOf(r2)
		// A version 1 record is of a log all in the earlier layout: the first commit
		// records where its entries start.
		s.record, s.from, s.recorded = st, from, !v1
	}
	s.size = s.record.size
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix, tagEntry}, UpperBound: []byte{prefix, tagEntry + 1}})
	if err != nil {
		return loaded{}, fmt.Errorf("merklelog: find the last entry: %w", err)
	}
	if it.Last() {
		last, ok := l.parseKey(tagEntry, it.Key())
		if !ok || last < s.from || last+1 < s.size {
			it.Close()
			return loaded{}, fmt.Errorf("%w: last entry key %x, with entries from %d and a recorded size of %d", ErrCorrupt, it.Key(), s.from, s.size)
		}
		s.size = last + 1
	}
	if err := it.Close(); err != nil {
		return loaded{}, fmt.Errorf("merklelog: find the last entry: %w", err)
	}
	return s, nil
}

// get returns a copy of the value stored at key.
func (l *Log) get(key []byte) ([]byte, error) {
	v, closer, err := l.db.Get(key)
	if err != nil {
		return nil, err
	}
	out := clone(v)
	if err := closer.Close(); err != nil {
		return nil, err
	}
	return out, nil
}

func (l *Log) leafKey(index uint64) []byte  { return l.key(tagLeaf, index) }
func (l *Log) entryKey(index uint64) []byte { return l.key(tagEntry, index) }

func (l *Log) key(tag byte, index uint64) []byte {
	k := make([]byte, 2+8)
	k[0], k[1] = l.prefix, tag
	binary.BigEndian.PutUint64(k[2:], index)
	return k
}

func (l *Log) parseKey(tag byte, k []byte) (uint64, bool) {
	if len(k) != 2+8 || k[0] != l.prefix || k[1] != tag {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[2:]), true
}

func (l *Log) nodeKey(level uint, index uint64) []byte {
	k := make([]byte, 3+8)
	k[0], k[1], k[2] = l.prefix, tagNode, byte(level)
	binary.BigEndian.PutUint64(k[3:], index)
	return k
}

func (l *Log) stateKey() []byte {
	return []byte{l.prefix, tagState}
}

// entryHashes is how many node hashes open leaf index's entry: its leaf hash and one for
// each trailing one bit of index, the nodes appending it completed.
func entryHashes(index uint64) int { return 1 + bits.TrailingZeros64(^index) }

// entryLeaf is the leaf bytes of entry v of leaf index (a sub-slice of v).
func entryLeaf(index uint64, v []byte) ([]byte, error) {
	n := entryHashes(index) * HashSize
	if len(v) < n {
		return nil, fmt.Errorf("%w: entry %d has %d bytes, want at least %d", ErrCorrupt, index, len(v), n)
	}
	return v[n:], nil
}

// encodeState encodes version(2) | size(8) | from(8) | compact range hashes (big-endian).
func encodeState(st rangeState, from uint64) []byte {
	out := make([]byte, 17, 17+HashSize*len(st.hashes))
	out[0] = stateVersion
	binary.BigEndian.PutUint64(out[1:9], st.size)
	binary.BigEndian.PutUint64(out[9:17], from)
	for _, h := range st.hashes {
		out = append(out, h...)
	}
	return out
}

// decodeState decodes a state record and where its entries start: a version 1 record
// (version | size | hashes, v1 true) is of a log all in the earlier layout.
func decodeState(v []byte) (st rangeState, from uint64, v1 bool, err error) {
	head := 17
	switch {
	case len(v) >= 9 && v[0] == stateV1:
		head = 9
	case len(v) >= 17 && v[0] == stateVersion:
	default:
		return rangeState{}, 0, false, fmt.Errorf("%w: malformed state record", ErrCorrupt)
	}
	size := binary.BigEndian.Uint64(v[1:9])
	from = size
	if head == 17 {
		if from = binary.BigEndian.Uint64(v[9:17]); from > size {
			return rangeState{}, 0, false, fmt.Errorf("%w: state record for size %d has entries from %d", ErrCorrupt, size, from)
		}
	}
	n := compact.RangeSize(0, size)
	if len(v) != head+HashSize*n {
		return rangeState{}, 0, false, fmt.Errorf("%w: state record for size %d has %d bytes, want %d", ErrCorrupt, size, len(v), head+HashSize*n)
	}
	hashes := make([][]byte, n)
	for i := range hashes {
		hashes[i] = clone(v[head+HashSize*i : head+HashSize*(i+1)])
	}
	return rangeState{size: size, hashes: hashes}, from, head == 9, nil
}

// newRange returns a compact range for st that does not share its hashes
// slice with st, so appending to it cannot modify st.
func newRange(st rangeState) (*compact.Range, error) {
	return factory.NewRange(0, st.size, append([][]byte(nil), st.hashes...))
}

func rootOf(r *compact.Range) []byte {
	if r.End() == 0 {
		return hasher.EmptyRoot()
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		// Only fails for ranges not starting at 0; all ranges here do.
		panic(fmt.Sprintf("merklelog: root: %v", err))
	}
	return root
}

func clone(b []byte) []byte {
	return append([]byte{}, b...)
}
