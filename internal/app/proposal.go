package app

import (
	"context"
	"encoding/hex"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// PrepareProposal puts emergency transactions (declarations, key releases, urgent writes)
// at the head of the block, including those the mempool holds beyond what it offered, and
// routine ones after them (emergency.Order). It reads only the committed state.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	view := a.checkView()
	txs := emergency.Order(req.Txs, a.urgent.Pending(), req.MaxTxBytes, func(s [tx.SignerLen]byte) uint64 {
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
