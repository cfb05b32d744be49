package app

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/admission"
	"github.com/ehrchain/ehrchain/internal/identity"
)

// TestBudgetRefusesOneIdentityWhileOthersProceed: an identity over its budget (one that
// registered itself for free, as a Sybil attacker would) is refused at admission, counting
// what it already has in the mempool, and again if a proposer puts it in a block anyway;
// other identities go on; the next window lets it write again.
func TestBudgetRefusesOneIdentityWhileOthersProceed(t *testing.T) {
	reg := newKS(t, "registrar")
	limits := admission.Defaults()
	limits.WindowSeconds = 20
	limits.Patient = admission.Limit{Bytes: 4 << 10, Txs: 4} // registration + 3
	h := newHarnessGenesis(t, reg, genesisWith(t, reg, Params{AllowNoop: true, Budgets: &limits}))
	mallory, carol := newKS(t, "mallory"), newKS(t, "carol")
	h.mustOK(h.sign(mallory, registration(mallory, identity.Patient, "", "")), h.sign(carol, registration(carol, identity.Patient, "", "")))

	check := func(raw []byte) *abci.ResponseCheckTx {
		r, _ := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
		return r
	}
	var queued [][]byte
	for i := 0; i < 3; i++ {
		raw := h.sign(mallory, &Noop{Payload: []byte{byte(i)}})
		if r := check(raw); r.Code != 0 {
			t.Fatalf("noop %d within the budget refused: %s/%d %s", i, r.Codespace, r.Code, r.Log)
		}
		queued = append(queued, raw)
	}
	over := h.sign(mallory, &Noop{Payload: []byte("one too many")})
	if r := check(over); r.Codespace != string(admission.Space) || r.Code != admission.CodeOverTxs {
		t.Fatalf("the fifth transaction of the window, with three in the mempool, was admitted: %s/%d %s", r.Codespace, r.Code, r.Log)
	}
	// A proposer that ignores CheckTx: the block refuses the excess at execution.
	res := h.block(append(queued, over)...)
	for i, r := range res[:3] {
		if r.Code != 0 {
			t.Fatalf("queued noop %d refused in the block: %s/%d %s", i, r.Codespace, r.Code, r.Log)
		}
	}
	if res[3].Codespace != string(admission.Space) || res[3].Code != admission.CodeOverTxs {
		t.Fatalf("the block executed a transaction over the budget: %s/%d %s", res[3].Codespace, res[3].Code, res[3].Log)
	}
	// Carol has her own budget; bytes are bounded too.
	h.mustOK(h.sign(carol, &Noop{Payload: []byte("carol")}))
	big := h.sign(carol, &Noop{Payload: make([]byte, 5<<10)})
	if r := check(big); r.Codespace != string(admission.Space) || r.Code != admission.CodeOverBytes {
		t.Fatalf("a transaction over the byte budget was admitted: %s/%d %s", r.Codespace, r.Code, r.Log)
	}

	// The harness's blocks are a second apart: a new window opens and mallory may write.
	h.seqs[mallory.ID]-- // the refused transaction consumed no sequence
	h.seqs[carol.ID]--
	for range limits.WindowSeconds {
		h.block()
	}
	h.mustOK(h.sign(mallory, &Noop{Payload: []byte("next window")}))
}
