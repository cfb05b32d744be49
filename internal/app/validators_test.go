package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/validators"
)

func consKey(t *testing.T) []byte {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// newValHarness starts a chain whose genesis has the given validators (power 10 each), named
// in both the consensus genesis and the application genesis.
func newValHarness(t *testing.T, keys ...[]byte) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), reg: newKS(t, "registrar"), seqs: map[string]uint64{}}
	h.open()
	g := GenesisState{Registrars: []GenesisIdentity{{Name: "registrar", SignKey: h.reg.Keys.SignPublic(), EncKey: h.reg.Keys.EncPublic()}}}
	var vals []abci.ValidatorUpdate
	for i, k := range keys {
		g.Validators = append(g.Validators, GenesisValidator{Institution: fmt.Sprintf("Hospital %d", i+1), PubKey: k, Power: 10})
		vals = append(vals, abci.Ed25519ValidatorUpdate(k, 10))
	}
	b, _ := json.Marshal(g)
	if _, err := h.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, InitialHeight: 1,
		Time: genesisTime, AppStateBytes: b, Validators: vals}); err != nil {
		t.Fatal(err)
	}
	return h
}

// finalize runs one block and returns its results and validator updates.
func (h *harness) finalize(txs ...[]byte) ([]*abci.ExecTxResult, map[string]int64) {
	h.t.Helper()
	h.height++
	resp, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h.height, Time: genesisTime, Txs: txs})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		h.t.Fatal(err)
	}
	ups := map[string]int64{}
	for _, u := range resp.ValidatorUpdates {
		addr := validators.Address(u.PubKey.GetEd25519())
		if _, dup := ups[addr]; dup {
			h.t.Fatalf("block %d names validator %s twice: CometBFT would halt", h.height, addr)
		}
		ups[addr] = u.Power
	}
	return resp.TxResults, ups
}

// TestValidatorUpdatesAreNetPerBlock: the block reports each validator once with its power at
// the end of the block, and nothing for one added and removed in the same block (CometBFT
// halts on removing a key it does not know).
func TestValidatorUpdatesAreNetPerBlock(t *testing.T) {
	a, b, c, d := consKey(t), consKey(t), consKey(t), consKey(t)
	h := newValHarness(t, a, b)
	set := func(k []byte, p int64) []byte {
		return h.sign(h.reg, &validators.Set{PubKey: k, Power: p, Institution: "Hospital C"})
	}
	rm := func(k []byte) []byte {
		return h.sign(h.reg, &validators.Remove{Address: validators.Address(k), Reason: "leaves"})
	}
	cases := []struct {
		name string
		txs  [][]byte
		want map[string]int64
	}{
		{"add", [][]byte{set(c, 10)}, map[string]int64{validators.Address(c): 10}},
		{"re-weight then remove in one block", [][]byte{set(c, 20), rm(c)}, map[string]int64{validators.Address(c): 0}},
		{"add and remove in one block", [][]byte{set(d, 10), rm(d)}, map[string]int64{}},
		{"two re-weights", [][]byte{set(a, 5), set(a, 7)}, map[string]int64{validators.Address(a): 7}},
		{"re-add a removed one", [][]byte{set(c, 3)}, map[string]int64{validators.Address(c): 3}},
	}
	for _, tc := range cases {
		res, ups := h.finalize(tc.txs...)
		for i, r := range res {
			if r.Code != 0 {
				t.Fatalf("%s: tx %d rejected: %s", tc.name, i, r.Log)
			}
		}
		if fmt.Sprint(ups) != fmt.Sprint(tc.want) {
			t.Fatalf("%s: updates %v, want %v", tc.name, ups, tc.want)
		}
	}
	v := h.st.Committed()
	if n := validators.Active(v); n != 3 {
		t.Fatalf("active validators %d, want 3 (a, b, c)", n)
	}
	got := validators.Get(v, validators.Address(d))
	if got == nil || got.Power != 0 || got.RemovedAt == 0 || got.Institution != "Hospital C" {
		t.Fatalf("a removed validator keeps its history: %+v", got)
	}
}

// TestValidatorSetRefusals tries every way past the checks; each is refused with its code,
// changes nothing and reports no update.
func TestValidatorSetRefusals(t *testing.T) {
	a, b := consKey(t), consKey(t)
	h := newValHarness(t, a, b)
	prov := newKS(t, "dr")
	h.mustOK(h.sign(h.reg, registration(prov, identity.Provider, "St Mary", "MD-1")))
	cases := []struct {
		name   string
		tx     func() []byte
		space  string
		code   uint32
		before func()
	}{
		{"provider adds", func() []byte {
			return h.sign(prov, &validators.Set{PubKey: consKey(t), Power: 10, Institution: "Rogue"})
		}, "validator", validators.CodeUnauthorized, nil},
		{"provider removes", func() []byte {
			return h.sign(prov, &validators.Remove{Address: validators.Address(a)})
		}, "validator", validators.CodeUnauthorized, nil},
		{"short key", func() []byte {
			return h.sign(h.reg, &validators.Set{PubKey: consKey(t)[:31], Power: 10, Institution: "X"})
		}, "validator", validators.CodeInvalid, nil},
		{"zero power", func() []byte {
			return h.sign(h.reg, &validators.Set{PubKey: consKey(t), Power: 0, Institution: "X"})
		}, "validator", validators.CodeInvalid, nil},
		{"negative power", func() []byte {
			return h.sign(h.reg, &validators.Set{PubKey: consKey(t), Power: -5, Institution: "X"})
		}, "validator", validators.CodeInvalid, nil},
		{"power over the cap", func() []byte {
			return h.sign(h.reg, &validators.Set{PubKey: consKey(t), Power: validators.MaxPower + 1, Institution: "X"})
		}, "validator", validators.CodeInvalid, nil},
		{"no institution", func() []byte {
			return h.sign(h.reg, &validators.Set{PubKey: consKey(t), Power: 10, Institution: "  "})
		}, "validator", validators.CodeInvalid, nil},
		{"control character", func() []byte {
			return h.sign(h.reg, &validators.Set{PubKey: consKey(t), Power: 10, Institution: "St\nMary"})
		}, "validator", validators.CodeInvalid, nil},
		{"unchanged", func() []byte {
			return h.sign(h.reg, &validators.Set{PubKey: a, Power: 10, Institution: "Hospital 1"})
		}, "validator", validators.CodeUnchanged, nil},
		{"remove unknown", func() []byte {
			return h.sign(h.reg, &validators.Remove{Address: validators.Address(consKey(t))})
		}, "validator", validators.CodeNotFound, nil},
		{"remove lower-case address", func() []byte {
			return h.sign(h.reg, &validators.Remove{Address: strings.ToLower(validators.Address(a))})
		}, "validator", validators.CodeInvalid, nil},
		{"remove the last one", func() []byte {
			return h.sign(h.reg, &validators.Remove{Address: validators.Address(b)})
		}, "validator", validators.CodeLastOne, func() {
			h.mustOK(h.sign(h.reg, &validators.Remove{Address: validators.Address(a)}))
		}},
	}
	for _, tc := range cases {
		if tc.before != nil {
			tc.before()
		}
		st := h.st.Committed()
		active := validators.Active(st)
		list, _ := json.Marshal(validators.List(st))
		raw := tc.tx()
		res, ups := h.finalize(raw)
		if env, err := tx.Decode(raw); err == nil && res[0].Code != 0 {
			h.seqs[env.SignerID()]-- // a rejected transaction does not use its sequence
		}
		if r := res[0]; r.Codespace != tc.space || r.Code != tc.code {
			t.Errorf("%s: got %s/%d %q, want %s/%d", tc.name, r.Codespace, r.Code, r.Log, tc.space, tc.code)
		}
		if len(ups) != 0 {
			t.Errorf("%s: a refused change reported updates %v", tc.name, ups)
		}
		after := h.st.Committed()
		if l, _ := json.Marshal(validators.List(after)); validators.Active(after) != active || string(l) != string(list) {
			t.Errorf("%s: a refused change altered the validator set", tc.name)
		}
	}
}

// TestGenesisValidatorsMustMatch: the application genesis must name the same validators
// (keys and powers) as the consensus genesis.
func TestGenesisValidatorsMustMatch(t *testing.T) {
	a, b := consKey(t), consKey(t)
	reg := newKS(t, "registrar")
	for _, tc := range []struct {
		name string
		app  []GenesisValidator
		cons []abci.ValidatorUpdate
	}{
		{"unknown key", []GenesisValidator{{Institution: "H", PubKey: b, Power: 10}}, []abci.ValidatorUpdate{abci.Ed25519ValidatorUpdate(a, 10)}},
		{"other power", []GenesisValidator{{Institution: "H", PubKey: a, Power: 5}}, []abci.ValidatorUpdate{abci.Ed25519ValidatorUpdate(a, 10)}},
		{"missing one", []GenesisValidator{{Institution: "H", PubKey: a, Power: 10}},
			[]abci.ValidatorUpdate{abci.Ed25519ValidatorUpdate(a, 10), abci.Ed25519ValidatorUpdate(b, 10)}},
	} {
		st, err := state.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(GenesisState{Registrars: []GenesisIdentity{{Name: "r", SignKey: reg.Keys.SignPublic(), EncKey: reg.Keys.EncPublic()}}, Validators: tc.app})
		_, err = New(testChain, st, nil).InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, InitialHeight: 1,
			Time: genesisTime, AppStateBytes: g, Validators: tc.cons})
		st.Close()
		if err == nil {
			t.Errorf("%s: a mismatched genesis was accepted", tc.name)
		}
	}
}
