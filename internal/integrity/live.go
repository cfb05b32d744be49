package integrity

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/node"
	"github.com/ehrchain/ehrchain/internal/state"
)

// VerifyLive runs Verify against a running node: on a consistent cut of its stores
// (node.Cut: snapshots of CometBFT's databases, a checkpoint of the application state), so
// the node keeps committing meanwhile. The cut is checked exactly as a stopped node's home.
func VerifyLive(n *node.Node, o Options) (*Report, error) {
	gen, err := types.GenesisDocFromFile(n.Paths.Genesis())
	if err != nil {
		return &Report{}, err
	}
	if gen.ChainID != n.Config.ChainID {
		return &Report{}, errors.New("the genesis file no longer matches the running chain")
	}
	// Beside the state database: the checkpoint hard-links its tables.
	dir, err := os.MkdirTemp(n.Paths.AppDir(), ".verify-")
	if err != nil {
		return &Report{}, err
	}
	defer os.RemoveAll(dir)
	cut, err := n.Cut(filepath.Join(dir, "cut"))
	if err != nil {
		return &Report{}, err
	}
	defer cut.Close()
	h := &home{chainID: gen.ChainID, genesis: gen, states: consensusStore{cut.State}}
	defer h.close()
	if err := catch(func() { h.blocks = store.NewBlockStore(cut.Blocks) }); err != nil {
		return &Report{}, &Failure{Part: "block store", Detail: err.Error()}
	}
	if h.blocks.Height() == 0 {
		h.blocks = nil
	}
	if h.app, err = state.OpenSnapshot(cut.AppDir); err != nil {
		var d *state.Damage
		if errors.As(err, &d) {
			return &Report{}, &Failure{Height: d.Height, Part: d.Part, Detail: d.Detail}
		}
		return &Report{}, err
	}
	h.closers = append(h.closers, h.app.Close)
	return verifyHome(h, o)
}
