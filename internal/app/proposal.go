package app

import (
	"context"
	"encoding/hex"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// PrepareProposal drops transactions that do not continue their signer's sequence
// (dropGaps), then puts emergency transactions (declarations, key releases, urgent writes)
// at the head of the block, including those the mempool holds beyond what it offered, and
// routine ones after them (emergency.Order). It reads only the committed state.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	view := a.checkView()
	offered := dropGaps(req.Txs, func(signer string) uint64 { return nextSequence(view, signer) })
	txs := emergency.Order(offered, a.urgent.Pending(), req.MaxTxBytes, func(s [tx.SignerLen]byte) uint64 {
		return nextSequence(view, hex.EncodeToString(s[:]))
	})
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

// ProcessProposal rejects a block that puts a routine transaction before an emergency one
// that fitted in the emergency lane, or whose lane would starve routine traffic. The check
// is a pure function of the block's bytes.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	if err := emergency.CheckOrder(req.Txs); err != nil {
		a.logf("rejected proposal at height %d: %v", req.Height, err)
		return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// forgetUrgent drops a block's transactions from the emergency pool: once in a block they
// leave the mempool.
func (a *App) forgetUrgent(txs []blockTx) {
	hs := make([][32]byte, len(txs))
	for i, t := range txs {
		hs[i] = t.hash
	}
	a.urgent.Remove(hs...)
}

// dropGaps keeps, for each signer, only the transactions that continue its sequence without
// a gap, counting from the committed state. With several validators a proposer's mempool
// can hold a signer's transaction n+1 without n (transactions arrive by several peers);
// proposing it would fail it in the block and make the signer's later transactions fail
// their recheck on the submitting node, so clients would wait for commits that never come.
// Skipped transactions stay in the mempool for a later block. Unsigned read batches and
// transactions that do not decode pass through (the block rejects the latter with a code).
// Only the envelope is read: no body decoding, no hashing.
func dropGaps(txs [][]byte, next func(signer string) uint64) [][]byte {
	want := map[string]uint64{}
	out := make([][]byte, 0, len(txs))
	for _, raw := range txs {
		env, err := tx.Decode(raw)
		if err != nil || routes[env.BodyType].unsigned {
			out = append(out, raw)
			continue
		}
		signer := env.SignerID()
		w, ok := want[signer]
		if !ok {
			w = next(signer)
		}
		if env.Sequence != w {
			continue
		}
		want[signer] = w + 1
		out = append(out, raw)
	}
	return out
}
