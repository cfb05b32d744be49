package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
	"github.com/cosmos/iavl"
)

// restoringKey marks a restore in progress. A node that stops half-way through a restore
// finds it at Open and drops the partial state, so the next attempt starts empty.
var restoringKey = []byte("m/restoring")

// Restore rebuilds an empty store from the state stream of one height (see stream.go),
// written to it in pieces of any size. Nothing is trusted: the map's root is recomputed by
// the import, the log's by appending its leaves, and Finish compares the app hash they give
// with the one the caller trusts before committing. Until Finish succeeds the store reads as
// empty (height 0); Abort, or a stop, throws the partial state away.
type Restore struct {
	s      *Store
	height int64

	pending []byte // bytes of an item not complete yet
	magic   bool
	section byte // the last item's tag
	imp     *iavl.Importer
	subtree []subtree // the importer's pending subtrees, mirrored to check inner keys
	lastMap []byte    // the last map leaf's key
	leaves  uint64
	lastKey []byte
	commit  *Commit

	logBytes int
	index    *indexIngester // restore_ingest.go
}

// subtree is a built part of the imported map: its height and its first key.
type subtree struct {
	height int8
	first  []byte
}

// checkShape checks what the app hash cannot: IAVL does not hash an inner node's key, yet
// every lookup is routed by it. It must be the first key of the node's right subtree, and
// leaf keys must ascend; otherwise a restored map would hash right and answer wrong.
func (r *Restore) checkShape(it streamItem) error {
	if it.height == 0 {
		if r.lastMap != nil && bytes.Compare(it.key, r.lastMap) <= 0 {
			return fmt.Errorf("%w: state map keys out of order", ErrStream)
		}
		r.lastMap = bytes.Clone(it.key)
		r.subtree = append(r.subtree, subtree{0, r.lastMap})
		return nil
	}
	n := len(r.subtree)
	if n < 2 || r.subtree[n-1].height >= it.height || r.subtree[n-2].height >= it.height {
		return fmt.Errorf("%w: state map inner node without its two subtrees", ErrStream)
	}
	left, right := r.subtree[n-2], r.subtree[n-1]
	if !bytes.Equal(it.key, right.first) {
		return fmt.Errorf("%w: state map inner node key is not the first key of its right subtree", ErrStream)
	}
	r.subtree = append(r.subtree[:n-2], subtree{it.height, left.first})
	return nil
}

// flush threshold while restoring: the log is written in batches of about this many bytes
// (the index in ingested files, restore_ingest.go), so memory stays bounded whatever the
// state's size.
const restoreBatchBytes = 16 << 20

// BeginRestore starts restoring height into the store, which must hold nothing committed.
func (s *Store) BeginRestore(height int64) (*Restore, error) {
	if height <= 0 {
		return nil, fmt.Errorf("restore: height %d is not a committed height", height)
	}
	if c := s.LastCommit(); c.Height != 0 || s.log.Size() != 0 {
		return nil, fmt.Errorf("restore: the state database already holds height %d; state sync needs an empty one", c.Height)
	}
	// The mark must be on disk before anything restored is: a crash then leaves a partial
	// state that the next Open knows to drop.
	if err := s.raw.Set(restoringKey, []byte{1}, pebble.NoSync); err != nil {
		return nil, err
	}
	if err := s.flush(0); err != nil {
		return nil, err
	}
	imp, err := s.tree.Import(height)
	if err != nil {
		s.wipe()
		return nil, fmt.Errorf("restore: %w", err)
	}
	return &Restore{s: s, height: height, imp: imp, index: newIndexIngester(s.raw, s.dir)}, nil
}

// Write feeds the next bytes of the stream. An error means the stream is not a valid
// snapshot; the restore must then be aborted.
func (r *Restore) Write(p []byte) (err error) {
	defer func() {
		// The importer trusts the shape of what it is given; a hostile node sequence can
		// make it index out of range. That is a bad stream, not a node fault.
		if x := recover(); x != nil {
			err = fmt.Errorf("%w: %v", ErrStream, x)
		}
	}()
	r.pending = append(r.pending, p...)
	b := r.pending
	if !r.magic {
		if len(b) < len(streamMagic) {
			if !bytes.HasPrefix([]byte(streamMagic), b) {
				return fmt.Errorf("%w: it does not start with %q", ErrStream, streamMagic)
			}
			return nil
		}
		if string(b[:len(streamMagic)]) != streamMagic {
			return fmt.Errorf("%w: it does not start with %q", ErrStream, streamMagic)
		}
		b = b[len(streamMagic):]
		r.magic = true
	}
	for len(b) > 0 {
		it, n, err := parseItem(b)
		if errors.Is(err, errShort) {
			break
		}
		if err != nil {
			return err
		}
		if err := r.apply(it); err != nil {
			return err
		}
		b = b[n:]
	}
	r.pending = append(r.pending[:0], b...)
	return nil
}

// order is the position of each section in the stream.
var order = map[byte]int{tagNode: 1, tagLeaf: 2, tagIndex: 3, tagCommit: 4}

func (r *Restore) apply(it streamItem) error {
	if r.commit != nil {
		return fmt.Errorf("%w: data after the commit record", ErrStream)
	}
	if order[it.tag] < order[r.section] {
		return fmt.Errorf("%w: a %q item after a %q item", ErrStream, it.tag, r.section)
	}
	if it.tag != tagNode && r.imp != nil {
		// The map section is over: make the imported version visible.
		if err := r.imp.Commit(); err != nil {
			return fmt.Errorf("%w: state map: %v", ErrStream, err)
		}
		r.imp = nil
	}
	r.section = it.tag
	s := r.s
	switch it.tag {
	case tagNode:
		if it.version > r.height {
			return fmt.Errorf("%w: state map node of version %d in a snapshot of height %d", ErrStream, it.version, r.height)
		}
		if err := r.checkShape(it); err != nil {
			return err
		}
		if err := r.imp.Add(&iavl.ExportNode{Key: bytes.Clone(it.key), Value: bytes.Clone(it.value),
			Version: it.version, Height: it.height}); err != nil {
			return fmt.Errorf("%w: state map: %v", ErrStream, err)
		}
	case tagLeaf:
		s.log.Append(it.value)
		r.leaves++
		if r.logBytes += len(it.value); r.logBytes >= restoreBatchBytes {
			if err := r.flushLog(); err != nil {
				return err
			}
		}
	case tagIndex:
		if r.lastKey != nil && bytes.Compare(it.key, r.lastKey) <= 0 {
			return fmt.Errorf("%w: index keys out of order", ErrStream)
		}
		r.lastKey = bytes.Clone(it.key)
		if err := r.index.set(indexKey(it.key), it.value); err != nil {
			return err
		}
	case tagCommit:
		var c Commit
		if err := json.Unmarshal(it.value, &c); err != nil {
			return fmt.Errorf("%w: commit record: %v", ErrStream, err)
		}
		if canon, _ := json.Marshal(c); !bytes.Equal(canon, it.value) {
			return fmt.Errorf("%w: the commit record is not in the form the node writes it", ErrStream)
		}
		r.commit = &c
	}
	return nil
}

func (r *Restore) flushLog() error {
	b := r.s.raw.NewBatch()
	defer b.Close()
	if err := r.s.log.Commit(b); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	r.s.log.Committed()
	r.logBytes = 0
	return nil
}

func (r *Restore) flushIndex() error { return r.index.flush() }

// Finish checks the restored state against trusted, the app hash of the height as the
// chain's validators signed it, and commits it. On an error the restore must be aborted.
func (r *Restore) Finish(trusted []byte) (Commit, error) {
	if r.commit == nil || len(r.pending) > 0 {
		return Commit{}, fmt.Errorf("%w: the stream ends before its commit record", ErrStream)
	}
	c := *r.commit
	if c.Height != r.height {
		return Commit{}, fmt.Errorf("%w: the snapshot of height %d holds the commit record of height %d", ErrStream, r.height, c.Height)
	}
	if c.LogSize != r.leaves {
		return Commit{}, fmt.Errorf("%w: the commit record counts %d events but the snapshot holds %d", ErrStream, c.LogSize, r.leaves)
	}
	if err := r.flushLog(); err != nil {
		return Commit{}, err
	}
	if err := r.flushIndex(); err != nil {
		return Commit{}, err
	}
	s := r.s
	if v := s.tree.Version(); v != r.height {
		return Commit{}, fmt.Errorf("%w: the state map was restored at version %d, not %d", ErrStream, v, r.height)
	}
	got := AppHash(s.tree.Hash(), s.log.Root(), s.log.Size())
	if !bytes.Equal(got, trusted) {
		return Commit{}, fmt.Errorf("the restored state of height %d hashes to %X but the chain's header gives %X: the snapshot is not the chain's state", r.height, got, trusted)
	}
	if !bytes.Equal(c.AppHash, got) {
		return Commit{}, fmt.Errorf("%w: its commit record says app hash %X but the state hashes to %X", ErrStream, c.AppHash, got)
	}
	meta, _ := json.Marshal(c)
	b := s.raw.NewBatch()
	defer b.Close()
	b.Set(metaKey, meta, nil)
	b.Delete(restoringKey, nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return Commit{}, fmt.Errorf("commit restored height %d: %w", r.height, err)
	}
	// Durable before CometBFT is told: no block before this height will ever be replayed.
	if err := s.flush(0); err != nil {
		return Commit{}, fmt.Errorf("commit restored height %d: %w", r.height, err)
	}
	r.index.close()
	if err := s.reload(); err != nil {
		return Commit{}, err
	}
	return c, nil
}

// Abort throws away everything the restore wrote; the store is empty again.
func (r *Restore) Abort() error {
	if r.imp != nil {
		r.imp.Close()
		r.imp = nil
	}
	if r.index != nil {
		r.index.close()
	}
	return r.s.wipe()
}

// wipe deletes every key and reopens the empty store.
func (s *Store) wipe() error {
	if err := s.raw.DeleteRange([]byte{0}, []byte{0xff}, pebble.NoSync); err != nil {
		return fmt.Errorf("drop partial state: %w", err)
	}
	if err := s.flush(0); err != nil {
		return fmt.Errorf("drop partial state: %w", err)
	}
	return s.reload()
}

// reload rebuilds the in-memory trees, log and view from the database.
func (s *Store) reload() error {
	if s.block != nil {
		s.block.Close()
		s.block = nil
	}
	return s.load()
}

// dropUnfinishedRestore deletes the partial state a stopped restore left behind.
func (s *Store) dropUnfinishedRestore() error {
	v, err := get(s.raw, restoringKey)
	if err != nil || v == nil {
		return err
	}
	if err := s.raw.DeleteRange([]byte{0}, []byte{0xff}, pebble.NoSync); err != nil {
		return err
	}
	return s.flush(0)
}
