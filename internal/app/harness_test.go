package app

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
)

const testChain = "test-chain"

var genesisTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// harness drives a real App over a real on-disk store through the ABCI calls CometBFT makes.
type harness struct {
	t      testing.TB
	dir    string
	st     *state.Store
	app    *App
	height int64
	reg    *keys.Keystore
	seqs   map[string]uint64
	blocks []recordedBlock
	clock  time.Duration // added to every later block's time: lets a test skip days
}

type recordedBlock struct {
	txs  [][]byte
	time time.Time
}

// genesisFor is a test chain's genesis: the harness's chains enable the no-op, which most
// tests use as the cheapest signed transaction, and let patients register themselves.
func genesisFor(t testing.TB, reg *keys.Keystore) []byte {
	return genesisWith(t, reg, Params{AllowNoop: true, OpenRegistration: true})
}

func genesisWith(t testing.TB, reg *keys.Keystore, p Params) []byte {
	b, err := json.Marshal(GenesisState{Registrars: []GenesisIdentity{{Name: "registrar", SignKey: reg.Keys.SignPublic(), EncKey: reg.Keys.EncPublic()}},
		Params: p})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	reg, err := keys.NewKeystore("registrar")
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessWith(t, reg)
}

func newHarnessWith(t testing.TB, reg *keys.Keystore) *harness {
	t.Helper()
	return newHarnessGenesis(t, reg, genesisFor(t, reg))
}

// newHarnessGenesis starts a harness from the given application genesis.
func newHarnessGenesis(t testing.TB, reg *keys.Keystore, genesis []byte) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), reg: reg, seqs: map[string]uint64{}}
	h.open()
	if _, err := h.app.InitChain(context.Background(), &abci.RequestInitChain{
		ChainId: testChain, InitialHeight: 1, Time: genesisTime, AppStateBytes: genesis}); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) open() {
	st, err := state.Open(h.dir)
	if err != nil {
		h.t.Fatal(err)
	}
	h.st = st
	h.app = New(testChain, st, nil)
	h.height = st.LastCommit().Height
	h.t.Cleanup(func() { h.st.Close() })
}

// waitShredded waits until the state store has compacted every committed erasure out of its
// files.
func (h *harness) waitShredded() {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := h.st.ShredPending()
		if err != nil {
			h.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d erasures still not shredded after a minute", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) reopen() {
	h.st.Close()
	h.open()
}

// block finalizes and commits one block holding txs.
func (h *harness) block(txs ...[]byte) []*abci.ExecTxResult {
	h.t.Helper()
	bt := h.nextTime()
	h.height++
	h.blocks = append(h.blocks, recordedBlock{txs: txs, time: bt})
	resp, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h.height, Time: bt, Txs: txs})
	if err != nil {
		h.t.Fatalf("finalize block %d: %v", h.height, err)
	}
	if _, err := h.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		h.t.Fatalf("commit block %d: %v", h.height, err)
	}
	return resp.TxResults
}

// nextTime is the time of the next block: one second per block after genesis, plus clock.
func (h *harness) nextTime() time.Time {
	return genesisTime.Add(time.Duration(h.height+1)*time.Second + h.clock)
}

// sign builds a transaction from ks with the next sequence the harness expects.
func (h *harness) sign(ks *keys.Keystore, body tx.Body) []byte {
	signer, ok := tx.ParseSigner(ks.ID)
	if !ok {
		h.t.Fatalf("bad id %q", ks.ID)
	}
	seq := h.seqs[ks.ID]
	h.seqs[ks.ID]++
	return tx.Sign(ks.Keys.Sign, signer, testChain, seq, body).Encode()
}

// mustOK commits txs in one block and fails on any rejection.
func (h *harness) mustOK(txs ...[]byte) {
	h.t.Helper()
	for i, r := range h.block(txs...) {
		if r.Code != 0 {
			h.t.Fatalf("tx %d rejected: %s/%d %s", i, r.Codespace, r.Code, r.Log)
		}
	}
}

func newKS(t testing.TB, name string) *keys.Keystore {
	ks, err := keys.NewKeystore(name)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func registration(ks *keys.Keystore, role identity.Role, org, licence string) *identity.Register {
	b := &identity.Register{Role: role, Name: ks.Name, Organization: org, Licence: licence,
		SignKey: ks.Keys.SignPublic(), EncKey: ks.Keys.EncPublic()}
	if role == identity.Patient {
		b.Name = "" // patients are pseudonymous on the ledger
	}
	b.Proof = identity.SignPop(ks.Keys.Sign, testChain, "register", ks.ID, b.EncKey)
	return b
}

func (h *harness) identity(id string) *identity.Identity { return identity.Get(h.st.Committed(), id) }
