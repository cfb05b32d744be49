package integrity

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/state"
)

// home is a stopped node's databases, all opened read-only under the home lock.
type home struct {
	chainID string
	genesis *types.GenesisDoc
	blocks  *store.BlockStore // nil: no block stored yet
	states  consensusStore
	app     *state.Snapshot
	closers []func() error
}

// openHome locks home (refusing while a node runs on it) and opens its databases
// read-only. A verifier must not change what it verifies, so nothing is recovered or
// replayed into the node's own databases.
func openHome(dir string) (_ *home, err error) {
	release, err := node.LockHome(dir)
	if err != nil {
		return nil, err
	}
	h := &home{closers: []func() error{func() error { release(); return nil }}}
	defer func() {
		if err != nil {
			h.close()
		}
	}()
	cfg, err := node.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	p := node.Paths{Home: dir}
	if h.genesis, err = types.GenesisDocFromFile(p.Genesis()); err != nil {
		return nil, err
	}
	if h.genesis.ChainID != cfg.ChainID {
		return nil, fmt.Errorf("genesis is for chain %q but %s says %q", h.genesis.ChainID, p.Config(), cfg.ChainID)
	}
	h.chainID = cfg.ChainID
	if _, err := os.Stat(filepath.Join(p.Data(), "blockstore.db")); err == nil {
		bdb, err := openLevelDB(p.Data(), "blockstore")
		if err != nil {
			return nil, err
		}
		h.closers = append(h.closers, bdb.Close)
		sdb, err := openLevelDB(p.Data(), "state")
		if err != nil {
			return nil, err
		}
		h.closers = append(h.closers, sdb.Close)
		if err := catch(func() { h.blocks = store.NewBlockStore(bdb) }); err != nil {
			return nil, &Failure{Part: "block store", Detail: err.Error()}
		}
		h.states = consensusStore{sdb}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(p.AppDir(), "state.db")); err == nil {
		if h.app, err = state.OpenSnapshot(p.AppDir()); err != nil {
			var d *state.Damage
			if errors.As(err, &d) {
				return nil, &Failure{Height: d.Height, Part: d.Part, Detail: d.Detail}
			}
			return nil, err
		}
		h.closers = append(h.closers, h.app.Close)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return h, nil
}

// openLevelDB opens one of CometBFT's goleveldb databases (its default backend) read-only.
func openLevelDB(dir, name string) (dbm.DB, error) {
	db, err := dbm.NewGoLevelDBWithOpts(name, dir, &opt.Options{ReadOnly: true, ErrorIfMissing: true})
	if err != nil {
		return nil, fmt.Errorf("open %s read-only: %w", filepath.Join(dir, name+".db"), err)
	}
	return db, nil
}

func (h *home) head() int64 {
	if h.blocks == nil {
		return 0
	}
	return h.blocks.Height()
}

func (h *home) close() {
	for i := len(h.closers) - 1; i >= 0; i-- {
		h.closers[i]()
	}
	h.closers = nil
}

// catch runs f and returns its panic as an error: CometBFT's block store panics on data it
// cannot decode, which here is a finding, not a crash.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	f()
	return nil
}
