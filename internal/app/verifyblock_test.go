package app

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// forge flips one bit of a signed transaction's signature.
func forge(t *testing.T, raw []byte) []byte {
	t.Helper()
	env, err := tx.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	env.Signature = append([]byte(nil), env.Signature...)
	env.Signature[7] ^= 0x10
	return env.Encode()
}

// batchBlocks builds a chain whose later blocks carry many signatures this node never saw
// at admission, so FinalizeBlock verifies them in batches; one of them is forged.
func batchBlocks(t *testing.T) (h *harness, forged int) {
	h = newHarness(t)
	c := h.registerCast()
	patients := make([]*keys.Keystore, 20)
	var regs [][]byte
	for i := range patients {
		patients[i] = newKS(t, fmt.Sprintf("p%d", i))
		regs = append(regs, h.sign(patients[i], registration(patients[i], identity.Patient, "", "")))
	}
	h.mustOK(regs...)
	var txs [][]byte
	for round := range 6 {
		for _, p := range patients {
			txs = append(txs, h.sign(p, &Noop{Payload: []byte{byte(round)}}))
		}
	}
	forged = 57
	bad := forge(t, h.sign(c.auditor, &Noop{Payload: []byte("forged")}))
	txs = append(txs[:forged], append([][]byte{bad}, txs[forged:]...)...)
	res := h.block(txs...)
	for i, r := range res {
		if i == forged {
			if r.Code != tx.CodeBadSignature || r.Codespace != string(tx.Space) {
				t.Fatalf("forged tx %d: %s/%d %s, want %s/%d", i, r.Codespace, r.Code, r.Log, tx.Space, tx.CodeBadSignature)
			}
			continue
		}
		if r.Code != 0 {
			t.Fatalf("tx %d rejected with the forged one in its batch: %s/%d %s", i, r.Codespace, r.Code, r.Log)
		}
	}
	return h, forged
}

// One forged signature in a block of many: only its transaction fails, with the code a
// single verification gives.
func TestBatchVerifyOnlyTheForgedTxFails(t *testing.T) {
	batchBlocks(t)
}

// The same blocks give the same results and app hashes whether each signature was checked
// alone at admission (CheckTx, then the cache) or in FinalizeBlock's batches, and replaying
// them into fresh states gives the same app hashes.
func TestBatchVerifyMatchesSingleVerification(t *testing.T) {
	h, forged := batchBlocks(t)
	replayTwice(t, h)
	batched, bHash := rerun(t, h, false)
	admitted, aHash := rerun(t, h, true)
	for i := range batched {
		for k, b := range batched[i] {
			a := admitted[i][k]
			if a.Code != b.Code || a.Codespace != b.Codespace || a.Log != b.Log {
				t.Fatalf("block %d tx %d: admitted first %s/%d %q, batched %s/%d %q", i, k, a.Codespace, a.Code, a.Log, b.Codespace, b.Code, b.Log)
			}
		}
	}
	if last := admitted[len(admitted)-1]; last[forged].Code != tx.CodeBadSignature {
		t.Fatalf("forged tx after CheckTx: %+v", last[forged])
	}
	if !bytes.Equal(aHash, bHash) || !bytes.Equal(aHash, h.st.LastCommit().AppHash) {
		t.Fatalf("app hash %X admitted first, %X batched, %X originally", aHash, bHash, h.st.LastCommit().AppHash)
	}
}

// rerun replays h's blocks into a fresh state, each transaction first offered to CheckTx
// if admit is set (as a mempool would), and returns every block's results and the last
// app hash.
func rerun(t *testing.T, h *harness, admit bool) ([][]*abci.ExecTxResult, []byte) {
	t.Helper()
	r := newHarnessWith(t, h.reg)
	var out [][]*abci.ExecTxResult
	for _, b := range h.blocks {
		if admit {
			for _, raw := range b.txs {
				if _, err := r.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New}); err != nil {
					t.Fatal(err)
				}
			}
		}
		r.height++
		resp, err := r.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: r.height, Time: b.time, Txs: b.txs})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
		out = append(out, resp.TxResults)
	}
	return out, r.st.LastCommit().AppHash
}
