package integrity

import (
	"bytes"
	"errors"
	"fmt"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/store"
	"github.com/cometbft/cometbft/types"
	"github.com/cosmos/gogoproto/proto"
)

// loadBlock reads the block stored at height part by part, checks every part against the
// part-set hash of the stored block ID, and checks that the block decodes, is internally
// consistent (data, last-commit and evidence hashes), and hashes to the stored block ID.
// The block ID itself is only trusted once a commit for it verifies.
func loadBlock(bs *store.BlockStore, height int64) (b *types.Block, id types.BlockID, err error) {
	var meta *types.BlockMeta
	if err := catch(func() { meta = bs.LoadBlockMeta(height) }); err != nil {
		return nil, id, fmt.Errorf("block meta does not decode: %v", err)
	}
	if meta == nil {
		return nil, id, errors.New("block meta is missing")
	}
	psh := meta.BlockID.PartSetHeader
	if psh.Total == 0 || psh.Total > types.MaxBlockPartsCount {
		return nil, id, fmt.Errorf("block meta names %d parts", psh.Total)
	}
	var buf []byte
	for i := 0; i < int(psh.Total); i++ {
		var part *types.Part
		if err := catch(func() { part = bs.LoadBlockPart(height, i) }); err != nil {
			return nil, id, fmt.Errorf("block part %d does not decode: %v", i, err)
		}
		if part == nil {
			return nil, id, fmt.Errorf("block part %d is missing", i)
		}
		if part.Index != uint32(i) || part.Proof.Index != int64(i) || part.Proof.Total != int64(psh.Total) {
			return nil, id, fmt.Errorf("block part %d is labelled as part %d of %d", i, part.Proof.Index, part.Proof.Total)
		}
		if err := part.Proof.Verify(psh.Hash, part.Bytes); err != nil {
			return nil, id, fmt.Errorf("block part %d does not match the part-set hash %X: %v", i, psh.Hash, err)
		}
		buf = append(buf, part.Bytes...)
	}
	var pb cmtproto.Block
	if err := proto.Unmarshal(buf, &pb); err != nil {
		return nil, id, fmt.Errorf("block does not decode: %v", err)
	}
	b, err = types.BlockFromProto(&pb)
	if err != nil {
		return nil, id, fmt.Errorf("block is malformed: %v", err)
	}
	if err := b.ValidateBasic(); err != nil {
		return nil, id, fmt.Errorf("block is inconsistent: %v", err)
	}
	if got := b.Hash(); !bytes.Equal(got, meta.BlockID.Hash) {
		return nil, id, fmt.Errorf("block hashes to %X but is stored as %X", got, meta.BlockID.Hash)
	}
	if got := meta.Header.Hash(); !bytes.Equal(got, meta.BlockID.Hash) {
		return nil, id, fmt.Errorf("the header kept in the block meta hashes to %X, not to the block hash %X", got, meta.BlockID.Hash)
	}
	if meta.NumTxs != len(b.Txs) || meta.BlockSize != b.Size() {
		return nil, id, fmt.Errorf("block meta says %d txs and %d bytes, the block has %d and %d", meta.NumTxs, meta.BlockSize, len(b.Txs), b.Size())
	}
	if b.Height != height {
		return nil, id, fmt.Errorf("block stored at height %d says height %d", height, b.Height)
	}
	var byHash *types.BlockMeta
	if err := catch(func() { byHash = bs.LoadBlockMetaByHash(meta.BlockID.Hash) }); err != nil || byHash == nil || byHash.Header.Height != height {
		return nil, id, fmt.Errorf("the block-hash index does not lead to height %d", height)
	}
	return b, meta.BlockID, nil
}

// loadCommit reads a stored commit (kind "block" for the copy of the next block's
// LastCommit, "seen" for the precommits this node saw).
func loadCommit(bs *store.BlockStore, height int64, kind string) (c *types.Commit, err error) {
	err = catch(func() {
		if kind == "seen" {
			c = bs.LoadSeenCommit(height)
		} else {
			c = bs.LoadBlockCommit(height)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("stored %s commit does not decode: %v", kind, err)
	}
	return c, nil
}
