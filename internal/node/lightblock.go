package node

import (
	"fmt"

	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/types"

	"github.com/ehrchain/ehrchain/internal/interchain"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// LightBlock is block height of this chain as another chain's light client verifies it:
// the header, the commit that signs it and the validator set that signed, read from
// CometBFT's block and state stores. Height 0 is the newest block (its commit is the one
// this node saw, which another node may hold with other signatures; it verifies the same).
// A height above the newest is wire.CodeNotFound, one below the node's base (pruned, or
// before a state sync) wire.CodePruned; both are *tx.Error. Any other error is the node's.
func (n *Node) LightBlock(height int64) (*wire.LightBlock, error) {
	bs := n.cmt.BlockStore()
	db := n.cometDB("state")
	if db == nil {
		return nil, wire.Space.Err(wire.CodeUnavailable, "the node is stopping")
	}
	top := bs.Height()
	if height == 0 {
		height = top
	}
	pruned := func() error {
		base := bs.Base()
		return wire.Space.Err(wire.CodePruned, "block %d was pruned from this node, which keeps blocks %d to %d; ask a node that keeps more history", height, base, bs.Height())
	}
	switch {
	case top == 0:
		return nil, wire.Space.Err(wire.CodeNotFound, "the node has stored no block yet")
	case height < 1:
		return nil, wire.Space.Err(wire.CodeBadRequest, "height %d: blocks start at 1", height)
	case height > top:
		return nil, wire.Space.Err(wire.CodeNotFound, "block %d is not committed yet; the newest is %d", height, top)
	case height < bs.Base():
		return nil, pruned()
	}
	meta := bs.LoadBlockMeta(height)
	commit := bs.LoadBlockCommit(height) // the canonical commit, stored with block height+1
	if commit == nil {
		commit = bs.LoadSeenCommit(height) // kept for the newest block only
	}
	if meta == nil || commit == nil {
		if height < bs.Base() { // pruned while we read
			return nil, pruned()
		}
		return nil, fmt.Errorf("block %d: the block store holds its meta: %v, its commit: %v", height, meta != nil, commit != nil)
	}
	vals, err := sm.NewStore(db, sm.StoreOptions{}).LoadValidators(height)
	if err != nil {
		if height < bs.Base() {
			return nil, pruned()
		}
		return nil, fmt.Errorf("validators of block %d: %w", height, err)
	}
	lb := &types.LightBlock{SignedHeader: &types.SignedHeader{Header: &meta.Header, Commit: commit}, ValidatorSet: vals}
	if err := lb.ValidateBasic(n.ChainID()); err != nil {
		return nil, fmt.Errorf("block %d from the stores is not a valid light block: %w", height, err)
	}
	raw, err := interchain.EncodeLightBlock(lb)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", height, err)
	}
	return &wire.LightBlock{ChainID: meta.Header.ChainID, Height: height, Time: meta.Header.Time.UTC(), Hash: meta.Header.Hash(),
		Base: bs.Base(), Latest: bs.Height(), LightBlock: raw}, nil
}
