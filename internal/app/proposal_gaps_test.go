package app

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestProposalSkipsSequenceGaps: a proposer whose mempool holds a signer's sequences 0, 2
// and 3 (1 missing) proposes only 0; other signers are unaffected.
func TestProposalSkipsSequenceGaps(t *testing.T) {
	h := newHarness(t)
	a, b := newKS(t, "a"), newKS(t, "b")
	h.mustOK(h.sign(h.reg, registration(a, identity.Auditor, "", "")), h.sign(h.reg, registration(b, identity.Auditor, "", "")))
	mk := func(who string, seq uint64) []byte {
		ks := a
		if who == "b" {
			ks = b
		}
		signer, _ := tx.ParseSigner(ks.ID)
		return tx.Sign(ks.Keys.Sign, signer, testChain, seq, &Noop{Payload: []byte{byte(seq)}}).Encode()
	}
	in := [][]byte{mk("a", 0), mk("b", 0), mk("a", 2), mk("b", 1), mk("a", 3), []byte("not a transaction")}
	resp, err := h.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{Txs: in, MaxTxBytes: 1 << 20, Height: h.height + 1})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{in[0], in[1], in[3], in[5]}
	if len(resp.Txs) != len(want) {
		t.Fatalf("proposed %d transactions, want %d", len(resp.Txs), len(want))
	}
	for i := range want {
		if string(resp.Txs[i]) != string(want[i]) {
			t.Fatalf("proposal tx %d differs", i)
		}
	}
	// What was proposed executes without a sequence failure.
	for i, r := range h.block(resp.Txs[:3]...) {
		if r.Code != 0 {
			t.Fatalf("proposed tx %d failed: %s", i, r.Log)
		}
	}
}
