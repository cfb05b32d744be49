package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cockroachdb/pebble"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/ehrchain/ehrchain/internal/merklelog"
)

// This file is the read-only side of the store, for offline verification: it opens the
// database as it is on disk (no recovery, no rollback, no write) and recomputes every root
// from the raw data instead of trusting stored hashes.

// Damage is stored state that does not match what it hashes to or what was committed.
type Damage struct {
	Part   string // "commit record", "event log" or "state map"
	Height int64  // the first height whose stored state it damages; 0 if unknown
	Detail string
}

func (d *Damage) Error() string {
	if d.Height > 0 {
		return fmt.Sprintf("%s at height %d: %s", d.Part, d.Height, d.Detail)
	}
	return d.Part + ": " + d.Detail
}

func damage(part string, height int64, format string, args ...any) *Damage {
	return &Damage{Part: part, Height: height, Detail: fmt.Sprintf(format, args...)}
}

// Snapshot is a read-only handle on a state database.
type Snapshot struct {
	raw    *pebble.DB
	commit Commit
}

// OpenSnapshot opens the state database in dir read-only. Nothing may write to it meanwhile
// (the caller holds the home lock). A commit record that does not decode is Damage. A
// database an earlier version wrote first has its record entries moved to where this
// version reads them (indexkeys.go), the one write this makes.
func OpenSnapshot(dir string) (*Snapshot, error) {
	path := filepath.Join(dir, "state.db")
	db, err := pebble.Open(path, &pebble.Options{ReadOnly: true, Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("open state database in %s read-only: %w", path, err)
	}
	if !entriesMoved(db) {
		db.Close()
		if err := moveEntriesIn(path); err != nil {
			return nil, err
		}
		if db, err = pebble.Open(path, &pebble.Options{ReadOnly: true, Logger: quietLogger{}}); err != nil {
			return nil, fmt.Errorf("open state database in %s read-only: %w", path, err)
		}
	}
	s, err := snapshotOf(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func snapshotOf(db *pebble.DB) (*Snapshot, error) {
	s := &Snapshot{raw: db}
	v, closer, err := db.Get(metaKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return s, nil // nothing committed yet
	case err != nil:
		return nil, err
	}
	defer closer.Close()
	if err := json.Unmarshal(v, &s.commit); err != nil {
		return nil, damage("commit record", 0, "does not decode: %v", err)
	}
	// Commit writes json.Marshal's output; anything else was edited (JSON would accept
	// e.g. a field name in another case).
	if canon, _ := json.Marshal(s.commit); !bytes.Equal(canon, v) {
		return nil, damage("commit record", 0, "is not in the form the node writes it: %s", v)
	}
	return s, nil
}

// Close releases the database.
func (s *Snapshot) Close() error { return s.raw.Close() }

// Commit is the commit record as stored.
func (s *Snapshot) Commit() Commit { return s.commit }

// EventLog opens the stored event log. A log whose stored compact range disagrees with its
// stored nodes, or whose size is not the committed one, is Damage.
func (s *Snapshot) EventLog() (*merklelog.Log, error) {
	l, err := merklelog.Open(s.raw, logPrefix)
	if err != nil {
		return nil, damage("event log", 0, "%v", err)
	}
	if l.Size() != s.commit.LogSize {
		return nil, damage("event log", 0, "holds %d entries but the commit record says %d", l.Size(), s.commit.LogSize)
	}
	return l, nil
}

// CheckLog recomputes the RFC 6962 root of the committed log from the raw leaves, calling fn
// with each leaf in order, and checks it against the stored root and every stored node on
// the leaves' inclusion paths (the nodes proofs are served from). It returns the recomputed
// root.
func (s *Snapshot) CheckLog(fn func(index uint64, leaf []byte) error) ([]byte, error) {
	l, err := s.EventLog()
	if err != nil {
		return nil, err
	}
	size := l.Size()
	r := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	var fnErr error
	err = l.Iterate(0, func(i uint64, leaf []byte) bool {
		if fn != nil {
			if fnErr = fn(i, leaf); fnErr != nil {
				return false
			}
		}
		fnErr = r.Append(merklelog.LeafHash(leaf), nil)
		return fnErr == nil
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, damage("event log", 0, "%v", err)
	}
	root := merklelog.EmptyRoot()
	if size > 0 {
		if root, err = r.GetRootHash(nil); err != nil {
			return nil, err
		}
	}
	if stored := l.Root(); !bytes.Equal(stored, root) {
		return nil, damage("event log", 0, "the %d stored entries hash to root %X but the stored log state says %X", size, root, stored)
	}
	// Proofs are assembled from stored node hashes: each must agree with the leaves.
	err = l.Iterate(0, func(i uint64, leaf []byte) bool {
		var path [][]byte
		if path, fnErr = l.InclusionProof(i, size); fnErr == nil {
			if fnErr = merklelog.VerifyInclusion(i, size, leaf, path, root); fnErr != nil {
				fnErr = damage("event log", 0, "a stored node on the inclusion path of event %d differs from the hash of the entries under it", i)
			}
		}
		return fnErr == nil
	})
	if fnErr == nil && err != nil {
		fnErr = err
	}
	if fnErr != nil {
		var d *Damage
		if errors.As(fnErr, &d) {
			return nil, d
		}
		return nil, damage("event log", 0, "%v", fnErr)
	}
	return root, nil
}

// MapLeaf is one key of the state map with the version (height) it was last written at.
type MapLeaf struct {
	Key, Value []byte
	Version    int64
}

// CheckMap walks the stored IAVL tree of version and recomputes its root hash from the
// keys and values, never trusting a stored hash (see MapChecker). fn, if not nil, gets the
// leaves in key order.
func (s *Snapshot) CheckMap(version int64, fn func(MapLeaf) error) ([]byte, error) {
	return s.MapChecker().Root(version, fn)
}

// MapChecker recomputes the roots of the stored IAVL trees of successive versions. Every
// inner node's stored hash, size and height must agree with its children, its search key
// must be the first key of its right subtree (inner keys are not hashed but route every
// lookup), and keys must ascend. Versions share most of their nodes: a subtree verified for
// one version is not walked again for a later one, so checking every version costs one
// visit per stored node, and the first version that fails is the height the damaged node
// was written at.
type MapChecker struct {
	s    *Snapshot
	done map[string]*walked // verified subtrees by node key
}

// MapChecker starts checking versions of the state map.
func (s *Snapshot) MapChecker() *MapChecker {
	return &MapChecker{s: s, done: map[string]*walked{}}
}

// Root recomputes the root of version. fn, if not nil, gets every leaf of the version in key
// order (then no subtree is skipped).
func (c *MapChecker) Root(version int64, fn func(MapLeaf) error) ([]byte, error) {
	rootKey := iavlNodeKey(version, 1)
	v, err := c.s.get(rootKey)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, damage("state map", version, "no root is stored for height %d", version)
	}
	nk := rootKey
	if len(v) == 0 { // an empty tree
		return sha256.New().Sum(nil), nil
	}
	if v[0] == 's' { // a version without writes refers to an earlier root
		if len(v) != 1+12 {
			return nil, damage("state map", version, "root reference of height %d is malformed", version)
		}
		if nk, err = c.s.referencedRoot(v); err != nil {
			return nil, err
		}
		if nk == nil {
			return nil, damage("state map", version, "referenced root of height %d is missing", version)
		}
	}
	w := &mapWalker{s: c.s, fn: fn, done: c.done, tree: version}
	n, err := w.walk(nk, version, 127)
	if err != nil {
		return nil, err
	}
	return n.hash, nil
}

// MapRoot is the stored root hash of version without walking the tree (for building
// proofs; CheckMap verifies it).
func (s *Snapshot) MapRoot(version int64) ([]byte, error) {
	v, err := s.get(iavlNodeKey(version, 1))
	switch {
	case err != nil:
		return nil, err
	case v == nil:
		return nil, fmt.Errorf("the state map holds no height %d", version)
	case len(v) == 0:
		return sha256.New().Sum(nil), nil
	case v[0] == 's' && len(v) == 13:
		nk, err := s.referencedRoot(v)
		if err == nil && nk != nil {
			v, err = s.get(nk)
		}
		if err != nil || nk == nil || v == nil {
			return nil, damage("state map", version, "referenced root of height %d is missing", version)
		}
	}
	n, err := decodeIAVLNode(v)
	if err != nil {
		return nil, damage("state map", version, "root node does not decode: %v", err)
	}
	if n.height == 0 { // a single leaf: its hash is not stored
		return s.CheckMap(version, nil)
	}
	return n.hash, nil
}

// IterateIndex calls fn for each derived index entry in key order (keys without the index
// prefix byte).
func (s *Snapshot) IterateIndex(fn func(key, value []byte) error) error {
	return iterateIndex(s.raw, nil, nil, func(k, v []byte) (bool, error) { return true, fn(k, v) })
}

// GetIndex reads one derived index entry; nil if absent.
func (s *Snapshot) GetIndex(key []byte) ([]byte, error) { return s.get(indexKey(key)) }

func (s *Snapshot) get(key []byte) ([]byte, error) { return get(s.raw, key) }

// referencedRoot is the key of the root that a version without writes refers to (ref is
// 's' + version + nonce 1), nil if it is missing. Once pruning deleted the referenced
// version, IAVL keeps that root under nonce 0 instead.
func (s *Snapshot) referencedRoot(ref []byte) ([]byte, error) {
	nk := append(append([]byte{}, treePrefix...), ref...)
	if v, err := s.get(nk); err != nil || v != nil {
		return nk, err
	}
	binary.BigEndian.PutUint32(nk[len(nk)-4:], 0)
	if v, err := s.get(nk); err != nil || v == nil {
		return nil, err
	}
	return nk, nil
}

// iavlNode is a decoded IAVL v1 node (the format iavl's nodeDB stores under "s<version><nonce>").
type iavlNode struct {
	height      int8
	size        int64
	key, value  []byte
	hash        []byte // stored (inner) or recomputed
	left, right []byte // child node keys (version, nonce)
}

func iavlNodeKey(version int64, nonce uint32) []byte {
	k := make([]byte, 0, len(treePrefix)+1+12)
	k = append(k, treePrefix...)
	k = append(k, 's')
	k = binary.BigEndian.AppendUint64(k, uint64(version))
	return binary.BigEndian.AppendUint32(k, nonce)
}

func decodeIAVLNode(b []byte) (*iavlNode, error) {
	d := decoder{b: b}
	n := &iavlNode{}
	h := d.varint()
	if h < 0 || h > 127 {
		return nil, fmt.Errorf("height %d out of range", h)
	}
	n.height = int8(h)
	n.size = d.varint()
	n.key = d.bytes()
	if n.height == 0 {
		n.value = d.bytes()
	} else {
		n.hash = d.bytes()
		if mode := d.varint(); mode != 0 {
			return nil, fmt.Errorf("legacy child mode %d", mode)
		}
		n.left = childKey(d.varint(), d.varint())
		n.right = childKey(d.varint(), d.varint())
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return n, nil
}

func childKey(version, nonce int64) []byte {
	if version <= 0 || nonce <= 0 || nonce > 1<<32-1 {
		return nil
	}
	return iavlNodeKey(version, uint32(nonce))
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	if d.err != nil {
		return nil
	}
	l, n := binary.Uvarint(d.b)
	if n <= 0 || l > uint64(len(d.b)-n) {
		d.err = errors.New("bad length")
		return nil
	}
	v := d.b[n : n+int(l)]
	d.b = d.b[n+int(l):]
	return v
}

type mapWalker struct {
	s    *Snapshot
	fn   func(MapLeaf) error
	done map[string]*walked
	tree int64 // the version being checked: earlier ones passed, so damage is dated to it
}

// walked is what a verified subtree reports to its parent.
type walked struct {
	hash              []byte
	height            int8
	size              int64
	firstKey, lastKey []byte
}

// walk verifies the subtree stored at node key nk. maxHeight bounds the recursion: a child
// is strictly lower than its parent, so a damaged child pointer cannot loop.
func (w *mapWalker) walk(nk []byte, parentVersion int64, maxHeight int8) (*walked, error) {
	version := int64(binary.BigEndian.Uint64(nk[len(treePrefix)+1:]))
	where := fmt.Sprintf("node %d/%d", version, binary.BigEndian.Uint32(nk[len(nk)-4:]))
	if version > parentVersion {
		return nil, damage("state map", w.tree, "%s is newer than the tree or node pointing to it", where)
	}
	if d := w.done[string(nk)]; d != nil && w.fn == nil {
		if d.height > maxHeight {
			return nil, damage("state map", w.tree, "%s has height %d under a parent of height %d", where, d.height, maxHeight+1)
		}
		return d, nil
	}
	v, err := w.s.get(nk)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, damage("state map", w.tree, "%s is missing", where)
	}
	n, err := decodeIAVLNode(v)
	if err != nil {
		return nil, damage("state map", w.tree, "%s does not decode: %v", where, err)
	}
	if n.height > maxHeight {
		return nil, damage("state map", w.tree, "%s has height %d under a parent of height %d", where, n.height, maxHeight+1)
	}
	h := sha256.New()
	putVarint(h, int64(n.height))
	putVarint(h, n.size)
	putVarint(h, version)
	var out *walked
	if n.height == 0 {
		if n.size != 1 {
			return nil, damage("state map", w.tree, "leaf %s has size %d", where, n.size)
		}
		if w.fn != nil {
			if err := w.fn(MapLeaf{Key: n.key, Value: n.value, Version: version}); err != nil {
				return nil, err
			}
		}
		putBytes(h, n.key)
		vh := sha256.Sum256(n.value)
		putBytes(h, vh[:])
		out = &walked{hash: h.Sum(nil), size: 1, firstKey: n.key, lastKey: n.key}
	} else {
		if n.left == nil || n.right == nil {
			return nil, damage("state map", w.tree, "%s has a malformed child pointer", where)
		}
		l, err := w.walk(n.left, version, n.height-1)
		if err != nil {
			return nil, err
		}
		r, err := w.walk(n.right, version, n.height-1)
		if err != nil {
			return nil, err
		}
		switch {
		case n.height != max(l.height, r.height)+1:
			return nil, damage("state map", w.tree, "%s has height %d but its children %d and %d", where, n.height, l.height, r.height)
		case n.size != l.size+r.size:
			return nil, damage("state map", w.tree, "%s has size %d but its children hold %d", where, n.size, l.size+r.size)
		case bytes.Compare(l.lastKey, r.firstKey) >= 0:
			return nil, damage("state map", w.tree, "%s: key %q of its left subtree is not below key %q of its right one", where, l.lastKey, r.firstKey)
		case !bytes.Equal(n.key, r.firstKey):
			return nil, damage("state map", w.tree, "%s routes by key %q but its right subtree starts at %q", where, n.key, r.firstKey)
		}
		putBytes(h, l.hash)
		putBytes(h, r.hash)
		sum := h.Sum(nil)
		if !bytes.Equal(sum, n.hash) {
			return nil, damage("state map", w.tree, "%s stores hash %X but its children hash to %X", where, n.hash, sum)
		}
		out = &walked{hash: sum, height: n.height, size: n.size, firstKey: l.firstKey, lastKey: r.lastKey}
	}
	w.done[string(nk)] = out
	return out, nil
}

func putVarint(h interface{ Write([]byte) (int, error) }, v int64) {
	h.Write(binary.AppendVarint(nil, v))
}

func putBytes(h interface{ Write([]byte) (int, error) }, b []byte) {
	h.Write(binary.AppendUvarint(nil, uint64(len(b))))
	h.Write(b)
}

// EventProof is an event with its RFC 6962 inclusion proof and the other inputs of the app
// hash at one height.
type EventProof struct {
	Height  int64
	Index   uint64
	Leaf    []byte
	LogSize uint64
	Path    [][]byte
	LogRoot []byte
	MapRoot []byte
}

// EventProof proves event index in the log of logSize entries, with the map root of height.
// logSize must be the log size committed at height (the caller checks the result against a
// block header).
func (s *Snapshot) EventProof(index uint64, height int64, logSize uint64) (*EventProof, error) {
	l, err := s.EventLog()
	if err != nil {
		return nil, err
	}
	mapRoot, err := s.MapRoot(height)
	if err != nil {
		return nil, err
	}
	return eventProof(l, index, height, logSize, mapRoot)
}

// MapRoot is the root hash of the state map at this view's height.
func (v *View) MapRoot() []byte {
	if v.tree == nil {
		return sha256.New().Sum(nil)
	}
	return v.tree.Hash()
}

// EventProof proves event index at this view's height.
func (v *View) EventProof(index uint64) (*EventProof, error) {
	if v.tree == nil {
		return nil, errors.New("no committed state yet")
	}
	return eventProof(v.log, index, v.height, v.logSize, v.tree.Hash())
}

func eventProof(l *merklelog.Log, index uint64, height int64, logSize uint64, mapRoot []byte) (*EventProof, error) {
	if index >= logSize {
		return nil, fmt.Errorf("event %d does not exist at height %d (log size %d)", index, height, logSize)
	}
	leaf, err := l.Leaf(index)
	if err != nil {
		return nil, err
	}
	path, err := l.InclusionProof(index, logSize)
	if err != nil {
		return nil, err
	}
	root, err := l.RootAt(logSize)
	if err != nil {
		return nil, err
	}
	return &EventProof{Height: height, Index: index, Leaf: leaf, LogSize: logSize, Path: path, LogRoot: root, MapRoot: mapRoot}, nil
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)              {}
func (quietLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
