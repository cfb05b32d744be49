package app

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/emergency"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// emergencyCast registers two custodian institutions, a provider and a patient who
// escrowed their "general" key 2-of-2.
func emergencyCast(h *harness) (provider, patient *keys.Keystore) {
	provider, patient = newKS(h.t, "dr"), newKS(h.t, "pat")
	c1, c2 := newKS(h.t, "c1"), newKS(h.t, "c2")
	h.mustOK(h.sign(h.reg, registration(provider, identity.Provider, "St Mary", "MD-1")),
		h.sign(h.reg, registration(c1, identity.Provider, "St Mary", "ESC-1")),
		h.sign(h.reg, registration(c2, identity.Provider, "City Clinic", "ESC-2")),
		h.sign(patient, registration(patient, identity.Patient, "", "")))
	cat, err := keys.Generate()
	if err != nil {
		h.t.Fatal(err)
	}
	patient.AddCategoryKey("general", 1, cat.Enc)
	h.mustOK(h.sign(h.reg, &emergency.CustodianBody{Custodian: c1.ID, Institution: "St Mary"}),
		h.sign(h.reg, &emergency.CustodianBody{Custodian: c2.ID, Institution: "City Clinic"}),
		h.sign(patient, &consent.PublishKeysBody{Keys: []consent.CategoryKey{{Category: "general", Version: 1, EncKey: cat.EncPublic()}}}))
	body, err := emergency.Split(patient, "general", 1, 2, []*identity.Identity{h.identity(c1.ID), h.identity(c2.ID)})
	if err != nil {
		h.t.Fatal(err)
	}
	h.mustOK(h.sign(patient, body))
	return provider, patient
}

// TestProposalOrdersEmergencyFirst: under a saturated mempool that offers the proposer only
// its oldest routine transactions, the emergency declaration admitted last is still put
// at the head of the block; the block passes ProcessProposal and executes; the same
// transactions with the declaration behind the routine ones are rejected.
func TestProposalOrdersEmergencyFirst(t *testing.T) {
	h := newHarness(t)
	provider, patient := emergencyCast(h)
	ctx := context.Background()

	var senders []*keys.Keystore
	var regs [][]byte
	for range 20 {
		k := newKS(t, "busy")
		senders = append(senders, k)
		regs = append(regs, h.sign(h.reg, registration(k, identity.Provider, "Busy", "B")))
	}
	h.mustOK(regs...)

	check := func(raw []byte) {
		t.Helper()
		r, err := h.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
		if err != nil || r.Code != 0 {
			t.Fatalf("CheckTx: %v %s", err, r.GetLog())
		}
	}
	var routine [][]byte
	for round := range 10 {
		for _, k := range senders {
			raw := h.sign(k, &Noop{Payload: []byte{byte(round)}})
			check(raw)
			routine = append(routine, raw)
		}
	}
	declare := h.sign(provider, &emergency.DeclareBody{Patient: patient.ID, Reason: "unconscious after a road accident"})
	check(declare)

	// The mempool offers only its oldest half (a byte limit reached) and not the declaration.
	offered := routine[:len(routine)/2]
	var limit int64
	for _, t := range offered {
		limit += int64(len(t)) + 3
	}
	prep, err := h.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: offered, MaxTxBytes: limit, Height: h.height + 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(prep.Txs) == 0 || string(prep.Txs[0]) != string(declare) {
		t.Fatal("the emergency declaration is not at the head of the proposed block")
	}
	for _, raw := range prep.Txs[1:] {
		if env, _ := tx.Decode(raw); emergency.Priority(env.BodyType) {
			t.Fatal("an emergency transaction appears twice")
		}
	}
	pp, err := h.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: prep.Txs, Height: h.height + 1})
	if err != nil || pp.Status != abci.ResponseProcessProposal_ACCEPT {
		t.Fatalf("own proposal rejected: %v %v", err, pp.GetStatus())
	}
	bad := append(append([][]byte{}, prep.Txs[1:]...), declare)
	pp, err = h.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: bad, Height: h.height + 1})
	if err != nil || pp.Status != abci.ResponseProcessProposal_REJECT {
		t.Fatal("a proposal with the declaration behind routine transactions was accepted")
	}

	for i, r := range h.block(prep.Txs...) {
		if r.Code != 0 {
			t.Fatalf("tx %d of the ordered block failed: %s/%d %s", i, r.Codespace, r.Code, r.Log)
		}
	}
	if ds := emergency.Declarations(h.st.Committed(), patient.ID); len(ds) != 1 || ds[0].Provider != provider.ID {
		t.Fatalf("declaration not committed: %+v", ds)
	}
	// Committed: the pool forgot it, so the next proposal does not repeat it.
	prep, err = h.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: routine[len(routine)/2:], MaxTxBytes: 1 << 30, Height: h.height + 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range prep.Txs {
		if string(raw) == string(declare) {
			t.Fatal("a committed emergency transaction was proposed again")
		}
	}
	// The emergency transactions replay to the same app hash (opt-out deletes state too).
	h.mustOK(h.sign(patient, &emergency.OptOutBody{Categories: []string{"general"}}))
	replayHashes(t, h)
}

// TestCheckTxGuardsTheEmergencyLane: the mempool admits an emergency transaction only if it
// could execute now, so identities that may not use the lane cannot fill it.
func TestCheckTxGuardsTheEmergencyLane(t *testing.T) {
	h := newHarness(t)
	provider, patient := emergencyCast(h)
	ctx := context.Background()
	checkTx := func(ks *keys.Keystore, body tx.Body) *abci.ResponseCheckTx {
		t.Helper()
		raw := h.sign(ks, body)
		r, err := h.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
		if err != nil {
			t.Fatal(err)
		}
		if r.Code != 0 {
			h.seqs[ks.ID]-- // not admitted: the sequence is still free
		}
		return r
	}
	refused := func(what string, r *abci.ResponseCheckTx, code uint32) {
		t.Helper()
		if r.Codespace != string(emergency.Space) || r.Code != code {
			t.Fatalf("%s: want emergency/%d, got %s/%d %s", what, code, r.Codespace, r.Code, r.Log)
		}
	}
	urgent := &emergency.UrgentPutBody{}
	urgent.Meta.Patient = patient.ID
	refused("urgent write without a declaration", checkTx(provider, urgent), emergency.CodeWindow)
	refused("a patient declares", checkTx(patient, &emergency.DeclareBody{Patient: patient.ID, Reason: "x"}), emergency.CodeUnauthorized)
	refused("a provider releases", checkTx(provider, &emergency.ReleaseBody{Declaration: "e-0000000000000000"}), emergency.CodeUnauthorized)
	if n := len(h.app.urgent.Pending()); n != 0 {
		t.Fatalf("%d refused transactions reached the emergency pool", n)
	}
	h.mustOK(h.sign(provider, &emergency.DeclareBody{Patient: patient.ID, Reason: "unconscious", Window: 5}))
	if r := checkTx(provider, urgent); r.Code != 0 {
		t.Fatalf("urgent write under an active declaration refused: %s", r.Log)
	}
	h.seqs[provider.ID]-- // it is never executed: the same sequence is tried again below
	for range 6 {         // block times advance a second a block: the window closes
		h.mustOK()
	}
	refused("urgent write after the window", checkTx(provider, urgent), emergency.CodeWindow)
}
