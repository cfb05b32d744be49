package node

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	dbm "github.com/cometbft/cometbft-db"
	cmtstate "github.com/cometbft/cometbft/proto/tendermint/state"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/state"
)

// A node that starts on damaged storage serves what the damage made of it (an edited record,
// a block that no longer hashes) or dies later with a Go panic deep inside CometBFT. Start
// therefore checks every store of the home before consensus opens them, and refuses with one
// line naming what is damaged and how to recover.

// DamageError is a store of the home that does not hold what the node wrote to it.
type DamageError struct {
	Store  string // "block store", "consensus state", "consensus WAL", "state database", "record index"
	Path   string
	Height int64 // the first height the damage concerns; 0 if not tied to one
	Detail string
}

// Remedy is what an operator does about damage: the node's own data cannot be trusted, so
// it is replaced, never repaired in place.
const Remedy = "restore this node from a backup (`ehrchain restore`) or rebuild it by state sync from a healthy node"

func (e *DamageError) Error() string {
	at := ""
	if e.Height > 0 {
		at = fmt.Sprintf(" at height %d", e.Height)
	}
	return fmt.Sprintf("refusing to start: the %s (%s) is damaged%s: %s; %s", e.Store, e.Path, at, e.Detail, Remedy)
}

// recentBlocks is how many of the newest blocks start loads in full and hashes; older ones
// are covered by the table checksums and by `ehrchain verify`.
const recentBlocks = 16

// checkHome checks the application state, CometBFT's databases and the consensus WAL, in
// that order (the last two are checked against the application's commit).
func checkHome(p Paths) error {
	app, err := checkAppState(p.AppDir())
	if err != nil {
		return err
	}
	if err := checkConsensus(p, app); err != nil {
		return err
	}
	return checkWAL(filepath.Join(p.Data(), "cs.wal"))
}

// checkAppState recomputes the committed app hash from the raw state (state.CheckCommitted)
// and holds every record write's index entries to the digest its audit event carries: the
// index is what the node serves as record metadata, and no hash covers it directly.
func checkAppState(dir string) (state.Commit, error) {
	path := filepath.Join(dir, "state.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return state.Commit{}, nil
	}
	damaged := func(store string, h int64, err error) error {
		var d *state.Damage
		if errors.As(err, &d) {
			return &DamageError{Store: store, Path: path, Height: max(h, d.Height), Detail: d.Part + ": " + d.Detail}
		}
		return &DamageError{Store: store, Path: path, Height: h, Detail: err.Error()}
	}
	s, err := state.OpenSnapshot(dir)
	if err != nil {
		return state.Commit{}, damaged("state database", 0, err)
	}
	defer s.Close()
	c := s.Commit()
	if c.Height == 0 {
		return c, nil
	}
	mapRoot, err := s.CheckMap(c.Height, nil)
	if err != nil {
		return c, damaged("state database", 0, err)
	}
	var readErr error
	get := func(k []byte) []byte {
		v, err := s.GetIndex(k)
		if err != nil && readErr == nil {
			readErr = err
		}
		return v
	}
	logRoot, err := s.CheckLog(func(i uint64, leaf []byte) error {
		ev, err := audit.Decode(leaf)
		if err != nil {
			return &state.Damage{Part: "event log", Detail: fmt.Sprintf("event %d does not decode: %v", i, err)}
		}
		if !records.IsWrite(ev) {
			return nil
		}
		err = records.CheckWritten(get, ev)
		if readErr != nil {
			return readErr
		}
		return err
	})
	var idx *records.IndexDamage
	switch {
	case errors.As(err, &idx):
		return c, &DamageError{Store: "record index", Path: path, Height: idx.Height, Detail: idx.Error()}
	case err != nil:
		return c, damaged("state database", 0, err)
	}
	if got := state.AppHash(mapRoot, logRoot, c.LogSize); !bytes.Equal(got, c.AppHash) {
		return c, &DamageError{Store: "state database", Path: path, Height: c.Height,
			Detail: fmt.Sprintf("the stored state recomputes to app hash %X but was committed as %X", got, c.AppHash)}
	}
	return c, nil
}

// checkConsensus reads every entry of CometBFT's block store and state databases (goleveldb
// verifies each table block's checksum as it reads), loads and hashes the newest blocks, and
// checks the consensus state and the block headers against the application's commit.
func checkConsensus(p Paths, app state.Commit) error {
	bpath := filepath.Join(p.Data(), "blockstore.db")
	spath := filepath.Join(p.Data(), "state.db")
	if _, err := os.Stat(bpath); errors.Is(err, os.ErrNotExist) {
		if app.Height > 0 {
			return &DamageError{Store: "block store", Path: bpath, Detail: fmt.Sprintf("it is missing but the application state is at height %d", app.Height)}
		}
		return nil
	}
	bdb, err := openReadOnly(p.Data(), "blockstore")
	if err != nil {
		return &DamageError{Store: "block store", Path: bpath, Detail: err.Error()}
	}
	defer bdb.Close()
	sdb, err := openReadOnly(p.Data(), "state")
	if err != nil {
		return &DamageError{Store: "consensus state", Path: spath, Detail: err.Error()}
	}
	defer sdb.Close()
	if err := readAll(bdb); err != nil {
		return &DamageError{Store: "block store", Path: bpath, Detail: err.Error()}
	}
	if err := readAll(sdb); err != nil {
		return &DamageError{Store: "consensus state", Path: spath, Detail: err.Error()}
	}
	blockErr := func(h int64, format string, args ...any) error {
		return &DamageError{Store: "block store", Path: bpath, Height: h, Detail: fmt.Sprintf(format, args...)}
	}
	stateErr := func(h int64, format string, args ...any) error {
		return &DamageError{Store: "consensus state", Path: spath, Height: h, Detail: fmt.Sprintf(format, args...)}
	}
	var bs *store.BlockStore
	if err := catch(func() { bs = store.NewBlockStore(bdb) }); err != nil {
		return blockErr(0, "its height record does not decode: %v", err)
	}
	head := bs.Height()
	st, err := loadConsensusState(sdb)
	if err != nil {
		return stateErr(0, "%v", err)
	}
	if head == 0 {
		if st.LastBlockHeight != 0 || app.Height != 0 {
			return blockErr(0, "it holds no block but the consensus state is at height %d and the application state at %d", st.LastBlockHeight, app.Height)
		}
		return nil
	}
	// The newest blocks: what the node replays, serves and builds on first.
	var prev *types.BlockMeta
	for h := max(bs.Base(), head-recentBlocks+1); h <= head; h++ {
		var meta *types.BlockMeta
		var b *types.Block
		if err := catch(func() { meta, b = bs.LoadBlockMeta(h), bs.LoadBlock(h) }); err != nil {
			return blockErr(h, "the block does not decode: %v", err)
		}
		if meta == nil || b == nil {
			return blockErr(h, "the block is missing")
		}
		if got := b.Hash(); !bytes.Equal(got, meta.BlockID.Hash) || b.Height != h {
			return blockErr(h, "the stored block hashes to %X but is recorded as %X", got, meta.BlockID.Hash)
		}
		if prev != nil && !b.LastBlockID.Equals(prev.BlockID) {
			return blockErr(h, "the block names previous block %v but block %d is %v", b.LastBlockID, h-1, prev.BlockID)
		}
		prev = meta
	}
	var seen *types.Commit
	if err := catch(func() { seen = bs.LoadSeenCommit(head) }); err != nil || seen == nil || !seen.BlockID.Equals(prev.BlockID) {
		return blockErr(head, "the commit seen for the newest block is missing or does not decode or names another block")
	}
	if st.LastBlockHeight != head && st.LastBlockHeight != head-1 {
		return stateErr(st.LastBlockHeight, "it is at height %d but the block store holds blocks up to %d", st.LastBlockHeight, head)
	}
	if h := st.LastBlockHeight; h > 0 {
		var m *types.BlockMeta
		if err := catch(func() { m = bs.LoadBlockMeta(h) }); err != nil || m == nil || !st.LastBlockID.Equals(m.BlockID) {
			return stateErr(h, "its last block is %v but the block store holds another block at that height", st.LastBlockID)
		}
	}
	// The application's app hash against what the chain recorded for its height. CometBFT
	// replays blocks into an application that is behind (its handshake), never one ahead.
	if app.Height == 0 {
		return nil
	}
	if app.Height > head {
		return &DamageError{Store: "state database", Path: filepath.Join(p.AppDir(), "state.db"), Height: app.Height,
			Detail: fmt.Sprintf("the application state is at height %d, ahead of the newest block %d", app.Height, head)}
	}
	var want []byte
	var from string
	switch {
	case app.Height < head:
		var m *types.BlockMeta
		if err := catch(func() { m = bs.LoadBlockMeta(app.Height + 1) }); err != nil || m == nil {
			return blockErr(app.Height+1, "the block after the application's height is missing or does not decode")
		}
		want, from = m.Header.AppHash, fmt.Sprintf("block %d's header", app.Height+1)
	case st.LastBlockHeight == app.Height:
		want, from = st.AppHash, "the consensus state"
	default: // applied but the consensus state not yet saved: the stored results carry it
		res, err := sm.NewStore(sdb, sm.StoreOptions{}).LoadFinalizeBlockResponse(app.Height)
		if err != nil || res == nil {
			return stateErr(app.Height, "the results of height %d are missing or do not decode", app.Height)
		}
		want, from = res.AppHash, "the stored results"
	}
	if !bytes.Equal(want, app.AppHash) && from == "the consensus state" {
		// Two unsigned witnesses disagree: the results CometBFT stored for the height decide
		// which one changed.
		if res, err := sm.NewStore(sdb, sm.StoreOptions{}).LoadFinalizeBlockResponse(app.Height); err == nil && res != nil && bytes.Equal(res.AppHash, app.AppHash) {
			return stateErr(app.Height, "its last app hash is %X but the application state and the stored results of height %d say %X", want, app.Height, app.AppHash)
		}
	}
	if !bytes.Equal(want, app.AppHash) {
		return &DamageError{Store: "state database", Path: filepath.Join(p.AppDir(), "state.db"), Height: app.Height,
			Detail: fmt.Sprintf("the application state has app hash %X at height %d but %s says %X", app.AppHash, app.Height, from, want)}
	}
	return nil
}

// openReadOnly opens one of CometBFT's goleveldb databases without writing to it.
func openReadOnly(dir, name string) (dbm.DB, error) {
	return dbm.NewGoLevelDBWithOpts(name, dir, &opt.Options{ReadOnly: true, ErrorIfMissing: true})
}

// readAll reads every entry: goleveldb checks the checksum of each table block it reads and
// stops with an error at a damaged one.
func readAll(db dbm.DB) error {
	it, err := db.Iterator(nil, nil)
	if err != nil {
		return err
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		_ = it.Value()
	}
	return it.Error()
}

// loadConsensusState decodes CometBFT's saved state without CometBFT's loader, which exits
// the process on a record it cannot decode.
func loadConsensusState(db dbm.DB) (sm.State, error) {
	v, err := db.Get([]byte("stateKey"))
	if err != nil {
		return sm.State{}, err
	}
	if len(v) == 0 {
		return sm.State{}, nil
	}
	var pb cmtstate.State
	if err := pb.Unmarshal(v); err != nil {
		return sm.State{}, fmt.Errorf("the saved state does not decode: %v", err)
	}
	st, err := sm.FromProto(&pb)
	if err != nil {
		return sm.State{}, fmt.Errorf("the saved state is malformed: %v", err)
	}
	return *st, nil
}

// catch runs f and returns its panic as an error: CometBFT's stores panic on data they
// cannot decode.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

// recoverStart turns a panic while CometBFT opens and replays its stores into an error, so a
// damage no check above foresaw still ends in one line and a non-zero exit, not a stack
// trace. The stack goes to the log for the bug report.
func (n *Node) recoverStart(err *error) {
	if r := recover(); r != nil {
		n.logf("panic during start: %v\n%s", r, debug.Stack())
		*err = fmt.Errorf("refusing to start: CometBFT failed while opening its stores (%v); the home is probably damaged: run `ehrchain verify --home %s`, then %s", r, n.Paths.Home, Remedy)
	}
}
