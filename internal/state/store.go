package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/cosmos/iavl"

	"github.com/ehrchain/ehrchain/internal/merklelog"
	"github.com/ehrchain/ehrchain/internal/stateproof"
)

// Key prefixes in the pebble database. IAVL nodes live under "s/".
var (
	treePrefix  = []byte("s/")
	metaKey     = []byte("m/commit")
	indexPrefix = byte('i')
)

const logPrefix = byte('L')

// cacheBytes is pebble's block cache: record metadata, ciphertexts and state-map nodes are
// read on every access decision, so the default 8 MiB would send most reads to disk.
const cacheBytes = 256 << 20

// Fault is a storage failure inside consensus. It is raised as a panic by the block-scoped
// accessors and turned into an error at the ABCI boundary, which halts the node: a node that
// cannot read its own state must stop, not guess.
type Fault struct{ Err error }

func (f Fault) Error() string { return "state fault: " + f.Err.Error() }

func fault(err error) { panic(Fault{err}) }

// Commit is the durable record of the last committed block.
type Commit struct {
	Height  int64  `json:"height"`
	AppHash []byte `json:"app_hash"`
	LogSize uint64 `json:"log_size"`
}

// Store holds the committed state and the working state of the block being executed.
type Store struct {
	dir  string // holds state.db; a restore's table files are built beside it
	raw  *pebble.DB
	tree *iavl.MutableTree
	// reader serves committed snapshots. It is a second tree over the same database so that
	// its node objects are never shared with tree: the writer mutates the nodes it shares
	// with its own snapshots (IAVL's clone clears their child pointers), which would race
	// with CheckTx and API reads on another goroutine.
	reader *iavl.MutableTree
	log    *merklelog.Log

	block *pebble.Batch     // staged index writes of the current block
	ahead map[string][]byte // committed index entries read ahead for the block (readahead.go)

	mu        sync.RWMutex
	closed    bool
	done      chan struct{} // closed by Close: the shredder stops
	last      Commit
	committed *View

	erased    [][]byte      // index keys the current block erased, shredded after its commit
	shredWake chan struct{} // wakes the shredder (buffered, one pending wake-up)
	shredDone chan struct{} // closed when the shredder has stopped
	shredErr  atomic.Pointer[error]
	shredLog  atomic.Pointer[func(string, ...any)]

	decoded decoded // the owner's decode caches, carried to readers (decodecache.go)

	durable durability                 // what a crash cannot lose (durable.go)
	retired atomic.Pointer[retiredSet] // which retired index prefixes it holds (retired.go)

	treeWrites atomic.Int64 // keys the state map's batches wrote (writes.go)
	logical    atomic.Int64 // bytes committed in batches since Open (WriteAmp)
	lastWrites Writes       // what the last Commit wrote
}

// Open opens (or creates) the state database in dir and recovers to the last complete commit.
func Open(dir string) (*Store, error) { return open(dir, vfs.Default) }

// open is Open on the file system fs (tests make its writes fail).
func open(dir string, fs vfs.FS) (*Store, error) {
	s := &Store{dir: dir, done: make(chan struct{}), shredWake: make(chan struct{}, 1), shredDone: make(chan struct{})}
	s.durable.failed = make(chan struct{})
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref() // the database holds its own reference
	opts := &pebble.Options{Cache: cache, MemTableSize: 64 << 20, Logger: quietLogger{},
		MaxConcurrentCompactions: func() int { return 2 }, Cleaner: shredCleaner{},
		DisableWAL: true, // CometBFT's blocks are the log (durable.go)
		FS:         fs, EventListener: s.durable.listener()}
	// Bloom filters on every level: a write looks up keys that do not exist yet (a new
	// record's head version, a read request's hash), and without filters each such lookup
	// searches every level of a large database. Deeper levels inherit level 0's options
	// (with pebble's doubling file sizes).
	opts.Levels = []pebble.LevelOptions{{FilterPolicy: bloom.FilterPolicy(10), FilterType: pebble.TableFilter}}
	path := filepath.Join(dir, "state.db")
	db, err := pebble.Open(path, opts)
	if err != nil {
		return nil, fmt.Errorf("open state database in %s: %w", path, err)
	}
	s.raw = db
	removeIngestLeftovers(dir)
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	go s.shredLoop()
	s.wakeShredder() // lists a crash left before their compaction
	return s, nil
}

func (s *Store) load() error {
	if err := s.dropUnfinishedRestore(); err != nil {
		return err
	}
	if err := moveEntries(s.raw); err != nil {
		return err
	}
	var last Commit
	if v, closer, err := s.raw.Get(metaKey); err == nil {
		err = json.Unmarshal(v, &last)
		closer.Close()
		if err != nil {
			return fmt.Errorf("commit record is corrupt: %w", err)
		}
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return err
	}
	s.mu.Lock()
	s.last = last
	s.mu.Unlock()
	s.durable.height.Store(last.Height) // read from the files
	s.tree = iavl.NewMutableTree(treeDB{db: s.raw, prefix: treePrefix, writes: &s.treeWrites, bytes: &s.logical}, 500_000, true, iavl.NewNopLogger())
	s.reader = iavl.NewMutableTree(treeDB{db: s.raw, prefix: treePrefix}, 200_000, true, iavl.NewNopLogger())
	latest, err := s.tree.GetLatestVersion()
	if err != nil {
		return err
	}
	switch {
	case latest > s.last.Height:
		// The map was saved but the commit batch was not: roll the map back.
		if err := s.tree.LoadVersionForOverwriting(s.last.Height); err != nil {
			return fmt.Errorf("roll state map back to height %d: %w", s.last.Height, err)
		}
	case latest < s.last.Height:
		return fmt.Errorf("state map is at height %d but the commit record says %d: the database is damaged", latest, s.last.Height)
	default:
		if _, err := s.tree.LoadVersion(s.last.Height); err != nil {
			return err
		}
	}
	if s.log, err = merklelog.Open(s.raw, logPrefix); err != nil {
		return err
	}
	if s.log.Size() != s.last.LogSize {
		return fmt.Errorf("event log holds %d entries but the commit record says %d: the database is damaged", s.log.Size(), s.last.LogSize)
	}
	if s.last.Height > 0 {
		if got := s.hash(s.tree.Hash(), s.log.Root(), s.log.Size()); !bytes.Equal(got, s.last.AppHash) {
			return fmt.Errorf("state at height %d hashes to %X but was committed as %X: the state database was altered", s.last.Height, got, s.last.AppHash)
		}
	}
	if err := s.noteRetired(); err != nil {
		return err
	}
	s.block, s.ahead = s.raw.NewIndexedBatch(), nil
	return s.setCommitted()
}

func (s *Store) setCommitted() error {
	v, err := s.viewOf(s.last)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.committed = v
	s.mu.Unlock()
	return nil
}

// viewOf builds the view of commit c; the state map must have saved c's version.
func (s *Store) viewOf(c Commit) (*View, error) {
	v := &View{height: c.Height, raw: s.raw, log: s.log, logSize: c.LogSize, decoded: &s.decoded, retired: &s.retired}
	if c.Height > 0 {
		t, err := s.reader.GetImmutable(c.Height)
		if err != nil {
			return nil, err
		}
		v.tree = t
	}
	return v, nil
}

// Close stops the shredder and releases the database. Closing twice is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	<-s.shredDone
	if s.block != nil {
		s.block.Close()
	}
	// Without a write-ahead log, pebble's Close would drop the memtable: the next start
	// would replay its blocks, or fail if they were pruned meanwhile. After a failed flush
	// another could wait for room without end; the blocks are replayed instead.
	ferr := s.durable.failure()
	if ferr == nil {
		ferr = s.flush(s.last.Height)
	}
	return errors.Join(ferr, s.raw.Close())
}

// LastCommit is the last commit. It is durable as a block in CometBFT's store; Durable says
// whether it is in the state database's files too.
func (s *Store) LastCommit() Commit {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.last
}

// Committed returns a read-only view of the last committed state, safe to use from any
// goroutine while the next block executes.
func (s *Store) Committed() *View {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.committed
}

// Get reads the working state of the current block.
func (s *Store) Get(key []byte) []byte {
	v, err := s.tree.Get(key)
	if err != nil {
		fault(err)
	}
	return v
}

// Set writes into the working state.
func (s *Store) Set(key, value []byte) {
	if _, err := s.tree.Set(key, value); err != nil {
		fault(err)
	}
}

// Delete removes a key from the working state.
func (s *Store) Delete(key []byte) {
	if _, _, err := s.tree.Remove(key); err != nil {
		fault(err)
	}
}

// Append stages a leaf in the event log and returns its index.
func (s *Store) Append(leaf []byte) uint64 { return s.log.Append(leaf) }

// PutIndex stages a derived index entry.
func (s *Store) PutIndex(key, value []byte) {
	wroteRetired(&s.retired, key)
	if err := s.block.Set(indexKey(key), value, nil); err != nil {
		fault(err)
	}
	s.wrote(key)
}

// GetIndex reads a derived index entry, including entries staged in this block.
func (s *Store) GetIndex(key []byte) []byte {
	if s.retired.Load().absent(key) {
		return nil
	}
	if v, ok := s.readAhead(key); ok {
		return v
	}
	v, err := get(s.block, indexKey(key))
	if err != nil {
		fault(err)
	}
	return v
}

// WorkingHash is the app hash the block's writes produce: it commits to the map root, the
// log root and the log size.
func (s *Store) WorkingHash() []byte {
	return s.hash(s.tree.WorkingHash(), s.log.StagedRoot(), s.log.StagedSize())
}

func (s *Store) hash(mapRoot, logRoot []byte, logSize uint64) []byte {
	return AppHash(mapRoot, logRoot, logSize)
}

// AppHash combines the two roots into the hash CometBFT puts in the next block header.
func AppHash(mapRoot, logRoot []byte, logSize uint64) []byte {
	return stateproof.AppHash(mapRoot, logRoot, logSize)
}

// Commit makes the working state durable as height and returns the commit record.
func (s *Store) Commit(height int64) (Commit, error) {
	if err := s.durable.failure(); err != nil {
		return Commit{}, fmt.Errorf("commit block %d: %w", height, err)
	}
	appHash := s.WorkingHash()
	_, version, err := s.tree.SaveVersion()
	if err != nil {
		return Commit{}, fmt.Errorf("save state map: %w", err)
	}
	if version != height {
		return Commit{}, fmt.Errorf("state map saved version %d for block %d", version, height)
	}
	c := Commit{Height: height, AppHash: appHash, LogSize: s.log.StagedSize()}
	w := Writes{Tree: int(s.treeWrites.Swap(0)), Index: int(s.block.Count())}
	// The view is built before the batch commits so that it is published right after: the
	// index (read from the database as last committed) and the view's state map then
	// disagree for no longer than a pointer swap.
	next, err := s.viewOf(c)
	if err != nil {
		return Commit{}, fmt.Errorf("open state map version %d: %w", height, err)
	}
	if err := s.log.Commit(s.block); err != nil {
		return Commit{}, err
	}
	w.Log = int(s.block.Count()) - w.Index
	if err := s.stageShred(height); err != nil {
		return Commit{}, err
	}
	meta, _ := json.Marshal(c)
	if err := s.block.Set(metaKey, meta, nil); err != nil {
		return Commit{}, err
	}
	// The next block's batch starts at this one's size: grown by doubling from empty, a
	// block of record writes copied each entry about twice more.
	size := len(s.block.Repr())
	if err := s.block.Commit(pebble.NoSync); err != nil {
		return Commit{}, fmt.Errorf("commit block %d: %w", height, err)
	}
	s.logical.Add(int64(size))
	s.log.Committed()
	s.block.Close()
	s.block = s.raw.NewIndexedBatchWithSize(size)
	s.ahead = nil
	s.mu.Lock()
	s.last, s.committed, s.lastWrites = c, next, w
	s.mu.Unlock()
	s.wakeShredder()
	s.flushBehind(height)
	return c, nil
}

// SetInitialHeight makes the first saved version equal the chain's initial height.
func (s *Store) SetInitialHeight(h int64) {
	if h > 1 {
		s.tree.SetInitialVersion(uint64(h))
	}
}
