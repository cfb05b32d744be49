package app

import (
	"context"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// PrepareProposal keeps, for each signer, only the transactions that continue its sequence
// without a gap, counting from the committed state. With several validators a proposer's
// mempool can hold a signer's transaction n+1 without n (it reached this node by another
// peer, or n was evicted here); proposing it would fail it in the block and make every later
// transaction of that signer fail its recheck, so clients would wait for commits that never
// come. Skipped transactions stay in the mempool for a later block. Read batches and
// transactions that do not decode pass through: the block rejects the latter with a code.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	view := a.st.Committed()
	next := map[string]uint64{}
	out := make([][]byte, 0, len(req.Txs))
	for _, raw := range req.Txs {
		// The envelope alone names signer and sequence: no body decoding, no hashing here.
		env, err := tx.Decode(raw)
		if err != nil || routes[env.BodyType].unsigned {
			out = append(out, raw)
			continue
		}
		signer := env.SignerID()
		want, ok := next[signer]
		if !ok {
			want = nextSequence(view, signer)
		}
		if env.Sequence != want {
			continue
		}
		next[signer] = want + 1
		out = append(out, raw)
	}
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}
