package app

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestNoopRefusedOnLiveChain: the benchmark no-op let any identity add arbitrary bytes to
// every node. A chain whose genesis does not enable it refuses it at admission and, should
// a proposer include it anyway, at execution.
func TestNoopRefusedOnLiveChain(t *testing.T) {
	reg := newKS(t, "registrar")
	h := newHarnessGenesis(t, reg, genesisWith(t, reg, Params{}))
	raw := h.sign(reg, &Noop{Payload: make([]byte, 200<<10)})
	ck, _ := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
	if ck.Code != tx.CodeDisabled || ck.Codespace != string(tx.Space) {
		t.Fatalf("CheckTx admitted a no-op on a live chain: %s/%d %s", ck.Codespace, ck.Code, ck.Log)
	}
	res := h.block(raw)
	if res[0].Code != tx.CodeDisabled {
		t.Fatalf("a proposed no-op was executed on a live chain: %s/%d %s", res[0].Codespace, res[0].Code, res[0].Log)
	}

	// The same transaction on a benchmark chain goes through.
	b := newHarnessWith(t, reg)
	b.mustOK(b.sign(reg, &Noop{Payload: make([]byte, 200<<10)}))
}
