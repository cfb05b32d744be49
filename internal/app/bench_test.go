package app

import (
	"context"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/txsig"
)

// Micro-benchmarks of the per-transaction costs behind `ehrchain bench`. Each signs its
// transactions before the timer starts, so only the node's side is measured.

const benchBlockTxs = 1000

// benchActors registers n patients (self-registration) in one block and returns them.
func benchActors(b *testing.B, h *harness, n int) []*keys.Keystore {
	b.Helper()
	actors := make([]*keys.Keystore, n)
	regs := make([][]byte, n)
	for i := range actors {
		actors[i] = newKS(b, fmt.Sprintf("actor-%d", i))
		regs[i] = h.sign(actors[i], registration(actors[i], identity.Patient, "", ""))
	}
	h.mustOK(regs...)
	return actors
}

// benchNoops signs n Noop transactions spread round-robin over actors.
func benchNoops(h *harness, actors []*keys.Keystore, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = h.sign(actors[i%len(actors)], &Noop{})
	}
	return out
}

// benchRegistrations signs n self-registrations of new patients.
func benchRegistrations(b *testing.B, h *harness, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		ks := newKS(b, fmt.Sprintf("patient-%d", i))
		out[i] = h.sign(ks, registration(ks, identity.Patient, "", ""))
	}
	return out
}

// BenchmarkDecodeVerify is the stateless part of admitting a Noop: decoding the envelope
// and checking its Ed25519 signature.
func BenchmarkDecodeVerify(b *testing.B) {
	ks := newKS(b, "actor")
	signer, _ := tx.ParseSigner(ks.ID)
	raw := tx.Sign(ks.Keys.Sign, signer, testChain, 1, &Noop{}).Encode()
	pub := ks.Keys.SignPublic()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		env, err := tx.Decode(raw)
		if err != nil || !txsig.Verify(env, pub) {
			b.Fatal("transaction does not verify")
		}
	}
}

// BenchmarkSignerLookup is reading and decoding a registered signer's identity, which
// CheckTx, the block pre-pass and delivery each do once per transaction.
func BenchmarkSignerLookup(b *testing.B) {
	h := newHarness(b)
	actor := benchActors(b, h, 1)[0]
	view := h.st.Committed()
	for b.Loop() {
		if identity.Get(view, actor.ID) == nil {
			b.Fatal("signer not found")
		}
	}
}

// BenchmarkCheckTxNoop admits fresh Noop transactions (never seen, so the signature is
// verified) from 64 registered actors, as the mempool does between blocks.
func BenchmarkCheckTxNoop(b *testing.B) {
	h := newHarness(b)
	actors := benchActors(b, h, 64)
	txs := benchNoops(h, actors, b.N)
	b.ResetTimer()
	for i := range b.N {
		r, err := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: txs[i], Type: abci.CheckTxType_New})
		if err != nil || r.Code != 0 {
			b.Fatalf("CheckTx rejected tx %d: %v %s", i, err, r.GetLog())
		}
	}
}

// BenchmarkFinalizeCommitNoop executes and commits blocks of 1,000 Noop transactions the
// node has not seen before (so the block pre-pass verifies every signature).
func BenchmarkFinalizeCommitNoop(b *testing.B) {
	h := newHarness(b)
	actors := benchActors(b, h, 64)
	blocks := make([][][]byte, b.N)
	for i := range blocks {
		blocks[i] = benchNoops(h, actors, benchBlockTxs)
	}
	benchBlocks(b, h, blocks)
}

// BenchmarkFinalizeCommitRegister executes and commits blocks of 1,000 patient
// self-registrations.
func BenchmarkFinalizeCommitRegister(b *testing.B) {
	h := newHarness(b)
	blocks := make([][][]byte, b.N)
	for i := range blocks {
		blocks[i] = benchRegistrations(b, h, benchBlockTxs)
	}
	benchBlocks(b, h, blocks)
}

func benchBlocks(b *testing.B, h *harness, blocks [][][]byte) {
	b.Helper()
	b.ResetTimer()
	for _, txs := range blocks {
		for i, r := range h.block(txs...) {
			if r.Code != 0 {
				b.Fatalf("tx %d rejected: %s/%d %s", i, r.Codespace, r.Code, r.Log)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(len(blocks)*benchBlockTxs), "ns/tx")
}
