package node

import (
	"path/filepath"

	"github.com/cometbft/cometbft/types"
)

// LockHome takes the home directory's lock for an offline tool (verification, proofs): it
// fails while a node runs on home, and keeps a node from starting until release.
func LockHome(home string) (release func(), err error) { return lockHome(Paths{home}) }

// Data is the directory of CometBFT's databases (block store, consensus state).
func (p Paths) Data() string { return filepath.Join(p.Home, "data") }

// BlockHeader is the stored header of the block at height, or nil if the node has not
// stored that block (yet).
func (n *Node) BlockHeader(height int64) *types.Header {
	m := n.cmt.BlockStore().LoadBlockMeta(height)
	if m == nil {
		return nil
	}
	return &m.Header
}
