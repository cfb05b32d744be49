package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtstate "github.com/cometbft/cometbft/proto/tendermint/state"
	cmtstore "github.com/cometbft/cometbft/proto/tendermint/store"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/ehrchain/ehrchain/internal/state"
)

// LevelDBs are CometBFT's databases a backup carries, by the name of their directory under
// data/ without ".db". The transaction index is off (the application indexes results), and
// the consensus WAL only matters for a height in progress.
var LevelDBs = []string{"blockstore", "state", "evidence"}

// Pause is a node's databases held at one height for a backup: the application state,
// CometBFT's consensus state and its block store all end at Height.
type Pause struct {
	ChainID string
	Height  int64
	AppHash []byte
	// StateDir is a pebble checkpoint of the application state database.
	StateDir string
	// Levels are read snapshots of CometBFT's databases (LevelDBs), valid until the callback
	// returns.
	Levels map[string]*leveldb.Snapshot
	// SignState is data/priv_validator_state.json as it was at the pause; nil if absent.
	SignState []byte
}

// Hold finds a moment between two blocks when the application, CometBFT's state and its
// block store are at the same height, and there, holding the mempool lock (CometBFT takes
// it around every application Commit, so no block commits meanwhile), checkpoints the
// application state into stage and snapshots CometBFT's databases. It then lets blocks go
// on and calls fn to copy them out.
func (n *Node) Hold(ctx context.Context, stage string, fn func(*Pause) error) error {
	for {
		p, err := n.tryHold(stage)
		if err != nil {
			return err
		}
		if p != nil {
			defer releaseAll(p.Levels)
			return fn(p)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no moment between two blocks was found: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// tryHold returns nil, nil when the stores are not at one height yet (the block store
// saves block H+1 before the application commits it; CometBFT saves its state for H just
// after).
func (n *Node) tryHold(stage string) (*Pause, error) {
	mp := n.cmt.Mempool()
	mp.Lock()
	defer mp.Unlock()
	levels, err := n.levelSnapshots()
	if err != nil {
		return nil, err
	}
	c := n.st.LastCommit()
	ok, err := atHeight(levels, c)
	if err != nil || !ok {
		releaseAll(levels)
		return nil, err
	}
	if _, err := n.st.Checkpoint(stage); err != nil {
		releaseAll(levels)
		return nil, err
	}
	sign, err := os.ReadFile(n.Paths.PrivValState())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		releaseAll(levels)
		return nil, err
	}
	return &Pause{ChainID: n.Config.ChainID, Height: c.Height, AppHash: c.AppHash, StateDir: stage, Levels: levels, SignState: sign}, nil
}

func (n *Node) levelSnapshots() (map[string]*leveldb.Snapshot, error) {
	n.dbMu.Lock()
	defer n.dbMu.Unlock()
	out := map[string]*leveldb.Snapshot{}
	for _, name := range LevelDBs {
		for _, d := range n.dbs {
			if d.id != name {
				continue
			}
			g, ok := d.DB.(*dbm.GoLevelDB)
			if !ok {
				releaseAll(out)
				return nil, fmt.Errorf("CometBFT's %s database is not goleveldb (%T): backup copies goleveldb only", name, d.DB)
			}
			s, err := g.DB().GetSnapshot()
			if err != nil {
				releaseAll(out)
				return nil, fmt.Errorf("snapshot CometBFT's %s database: %w", name, err)
			}
			out[name] = s
		}
		if out[name] == nil {
			releaseAll(out)
			return nil, fmt.Errorf("CometBFT's %s database is not open", name)
		}
	}
	return out, nil
}

// atHeight reports whether CometBFT's block store and state in the snapshots end at the
// application's commit c, and fails if its state disagrees with c's app hash.
func atHeight(levels map[string]*leveldb.Snapshot, c state.Commit) (bool, error) {
	if c.Height < 1 {
		return false, nil // nothing committed yet: wait for the first block
	}
	var bs cmtstore.BlockStoreState
	if err := getProto(levels["blockstore"], "blockStore", &bs); err != nil {
		return false, err
	}
	var cs cmtstate.State
	if err := getProto(levels["state"], "stateKey", &cs); err != nil {
		return false, err
	}
	if bs.Height != c.Height || cs.LastBlockHeight != c.Height {
		return false, nil
	}
	if !bytes.Equal(cs.AppHash, c.AppHash) {
		return false, fmt.Errorf("CometBFT's state at height %d has app hash %X but the application committed %X", c.Height, cs.AppHash, c.AppHash)
	}
	return true, nil
}

type unmarshaler interface{ Unmarshal([]byte) error }

func getProto(s *leveldb.Snapshot, key string, into unmarshaler) error {
	v, err := s.Get([]byte(key), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil // not written yet: the zero value's height 0 never matches
	}
	if err != nil {
		return err
	}
	if err := into.Unmarshal(v); err != nil {
		return fmt.Errorf("CometBFT's %s record does not decode: %w", key, err)
	}
	return nil
}

func releaseAll(levels map[string]*leveldb.Snapshot) {
	for _, s := range levels {
		s.Release()
	}
}

// HoldStopped is Hold for a stopped node: it takes the home lock (failing while a node runs)
// opens the databases for fn (CometBFT's read-only). The stores must be at one height, as a clean
// stop leaves them.
func HoldStopped(home, stage string, fn func(*Pause) error) error {
	release, err := LockHome(home)
	if err != nil {
		return err
	}
	defer release()
	cfg, err := LoadConfig(home)
	if err != nil {
		return err
	}
	p := Paths{home}
	levels := map[string]*leveldb.Snapshot{}
	for _, name := range LevelDBs {
		db, err := leveldb.OpenFile(filepath.Join(p.Data(), name+".db"), &opt.Options{ReadOnly: true, ErrorIfMissing: true})
		if err != nil {
			return fmt.Errorf("open CometBFT's %s database read-only: %w", name, err)
		}
		defer db.Close()
		if levels[name], err = db.GetSnapshot(); err != nil {
			return err
		}
		defer levels[name].Release()
	}
	// Opened as the node opens it (a read-only pebble cannot checkpoint): that recovers the
	// last complete commit exactly as the next start would.
	st, err := state.Open(p.AppDir())
	if err != nil {
		return err
	}
	defer st.Close()
	c := st.LastCommit()
	ok, err := atHeight(levels, c)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s was not stopped cleanly (the application is at height %d, CometBFT's stores elsewhere): start the node, let it recover, and back it up while it runs", home, c.Height)
	}
	if _, err := st.Checkpoint(stage); err != nil {
		return err
	}
	sign, err := os.ReadFile(p.PrivValState())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return fn(&Pause{ChainID: cfg.ChainID, Height: c.Height, AppHash: c.AppHash, StateDir: stage, Levels: levels, SignState: sign})
}
