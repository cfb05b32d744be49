package node

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/store"
	"github.com/syndtr/goleveldb/leveldb"

	"github.com/ehrchain/ehrchain/internal/state"
)

// Cut is a consistent read-only copy of a running node's stores, for verifying the node
// without stopping it: snapshots of CometBFT's block store and consensus state, and a
// checkpoint of the application state, taken so that their heights relate as on a node
// that stopped cleanly or crashed (app and consensus state at most one block behind the
// block store). Nothing here blocks a commit.
type Cut struct {
	Blocks, State dbm.DB // read-only views of the goleveldb snapshots
	AppDir        string // holds the checkpoint as AppDir/state.db
	snaps         []*leveldb.Snapshot
}

// Close releases the snapshots; the caller removes AppDir.
func (c *Cut) Close() {
	for _, s := range c.snaps {
		s.Release()
	}
	c.snaps = nil
}

// cutAttempts bounds the retries when a block commits while the cut is taken.
const cutAttempts = 50

// Cut takes a consistent cut of the node's stores; the application state is checkpointed
// into dir, which must not exist yet and must be on the file system of the home.
func (n *Node) Cut(dir string) (*Cut, error) {
	blocks, cstate := n.leveldb("blockstore"), n.leveldb("state")
	if blocks == nil || cstate == nil {
		return nil, errors.New("the node's CometBFT databases are not goleveldb or not open")
	}
	for i := 0; i < cutAttempts; i++ {
		// CometBFT saves a block, then the application commits it, then CometBFT saves its
		// state: taking them in the reverse order, none can be behind the one taken before.
		ss, err := cstate.GetSnapshot()
		if err != nil {
			return nil, err
		}
		st, err := loadConsensusState(snapshotDB{ss})
		if err != nil {
			ss.Release()
			return nil, err
		}
		os.RemoveAll(dir)
		if err := n.st.CheckpointInto(dir); err != nil {
			ss.Release()
			return nil, fmt.Errorf("checkpoint the state database: %w", err)
		}
		snap, err := state.OpenSnapshot(dir)
		if err != nil {
			ss.Release()
			return nil, err
		}
		app := snap.Commit().Height
		snap.Close()
		bs, err := blocks.GetSnapshot()
		if err != nil {
			ss.Release()
			return nil, err
		}
		var head int64
		if err := catch(func() { head = store.NewBlockStore(snapshotDB{bs}).Height() }); err != nil {
			ss.Release()
			bs.Release()
			return nil, err
		}
		s := st.LastBlockHeight
		if head-s <= 1 && app >= s && app <= head && app >= head-1 {
			return &Cut{Blocks: snapshotDB{bs}, State: snapshotDB{ss}, AppDir: dir, snaps: []*leveldb.Snapshot{ss, bs}}, nil
		}
		ss.Release()
		bs.Release()
	}
	return nil, fmt.Errorf("blocks kept committing while the stores were cut %d times", cutAttempts)
}

// leveldb is the goleveldb database CometBFT opened under id, or nil.
func (n *Node) leveldb(id string) *leveldb.DB {
	n.dbMu.Lock()
	defer n.dbMu.Unlock()
	for _, d := range n.dbs {
		if g, ok := d.DB.(*dbm.GoLevelDB); ok && d.id == id && !d.closed.Load() {
			return g.DB()
		}
	}
	return nil
}

// snapshotDB reads a goleveldb snapshot through CometBFT's database interface; it refuses
// every write.
type snapshotDB struct{ s *leveldb.Snapshot }

var errReadOnly = errors.New("a snapshot is read-only")

func (d snapshotDB) Get(k []byte) ([]byte, error) {
	v, err := d.s.Get(k, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, nil
	}
	return v, err
}
func (d snapshotDB) Has(k []byte) (bool, error) { return d.s.Has(k, nil) }
func (d snapshotDB) Iterator(start, end []byte) (dbm.Iterator, error) {
	return nil, errors.New("snapshot iteration is not supported")
}
func (d snapshotDB) ReverseIterator(start, end []byte) (dbm.Iterator, error) {
	return nil, errors.New("snapshot iteration is not supported")
}
func (snapshotDB) Set([]byte, []byte) error        { return errReadOnly }
func (snapshotDB) SetSync([]byte, []byte) error    { return errReadOnly }
func (snapshotDB) Delete([]byte) error             { return errReadOnly }
func (snapshotDB) DeleteSync([]byte) error         { return errReadOnly }
func (snapshotDB) Close() error                    { return nil }
func (snapshotDB) NewBatch() dbm.Batch             { return nil }
func (snapshotDB) Print() error                    { return nil }
func (snapshotDB) Stats() map[string]string        { return nil }
func (snapshotDB) Compact(start, end []byte) error { return errReadOnly }

// InUse reports whether a node runs on home (holds its lock), without taking the lock for
// longer than the probe.
func InUse(home string) bool {
	f, err := os.OpenFile(Paths{home}.Lock(), os.O_RDONLY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
