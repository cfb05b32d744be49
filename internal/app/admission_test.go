package app

import (
	"context"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ehrchain/ehrchain/internal/admission"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
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
	h := newHarnessGenesis(t, reg, genesisWith(t, reg, Params{AllowNoop: true, OpenRegistration: true, Budgets: &limits}))
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

// TestSelfRegistrationClosedByDefault: on a chain created without open registration, a
// patient's own registration is refused, at admission and in a block; a provider registers
// the patient instead, with the patient's key.
func TestSelfRegistrationClosedByDefault(t *testing.T) {
	reg := newKS(t, "registrar")
	h := newHarnessGenesis(t, reg, genesisWith(t, reg, Params{}))
	dr, carol := newKS(t, "dr"), newKS(t, "carol")
	h.mustOK(h.sign(reg, registration(dr, identity.Provider, "St Mary", "MD-1")))
	self := h.sign(carol, registration(carol, identity.Patient, "", ""))
	ck, _ := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: self, Type: abci.CheckTxType_New})
	if ck.Codespace != string(admission.Space) || ck.Code != admission.CodeClosed || !strings.Contains(ck.Log, "--as <provider>") {
		t.Fatalf("a self-registration was admitted on a closed chain: %s/%d %s", ck.Codespace, ck.Code, ck.Log)
	}
	if r := h.block(self)[0]; r.Code != admission.CodeClosed {
		t.Fatalf("a proposed self-registration was executed: %s/%d %s", r.Codespace, r.Code, r.Log)
	}
	if h.identity(carol.ID) != nil {
		t.Fatal("the refused self-registration created the identity")
	}
	h.seqs[carol.ID] = 0
	h.mustOK(h.sign(dr, registration(carol, identity.Patient, "", "")))
	if got := h.identity(carol.ID); got == nil || got.RegisteredBy != dr.ID {
		t.Fatalf("the provider's registration of the patient: %+v", got)
	}
}

// TestSybilIdentitiesShareOnePool: patients registered by one provider share its pool, and
// self-registered patients share the open pool, so many identities buy no more than one
// sponsor's allowance; a patient of another provider is not affected.
func TestSybilIdentitiesShareOnePool(t *testing.T) {
	reg := newKS(t, "registrar")
	limits := admission.Defaults()
	limits.Sponsored = admission.Limit{Txs: 4}
	limits.Open = admission.Limit{Txs: 3} // two self-registrations and one more transaction
	h := newHarnessGenesis(t, reg, genesisWith(t, reg, Params{AllowNoop: true, OpenRegistration: true, Budgets: &limits}))
	mal, good := newKS(t, "mal-dr"), newKS(t, "good-dr")
	h.mustOK(h.sign(reg, registration(mal, identity.Provider, "Shady Clinic", "MD-6")), h.sign(reg, registration(good, identity.Provider, "St Mary", "MD-1")))
	var sybils []*keys.Keystore
	for i := 0; i < 3; i++ {
		p := newKS(t, "sybil")
		sybils = append(sybils, p)
		h.mustOK(h.sign(mal, registration(p, identity.Patient, "", "")))
	}
	honest := newKS(t, "honest")
	h.mustOK(h.sign(good, registration(honest, identity.Patient, "", "")))

	var raws [][]byte
	for i := 0; i < 5; i++ { // 5 transactions from 3 identities, each far under its own 200
		raws = append(raws, h.sign(sybils[i%3], &Noop{Payload: []byte{byte(i)}}))
	}
	res := h.block(raws...)
	for i, r := range res {
		want := uint32(0)
		if i == 4 {
			want = admission.CodeOverTxs
		}
		if r.Code != want {
			t.Fatalf("sybil transaction %d: %s/%d %s, want code %d", i, r.Codespace, r.Code, r.Log, want)
		}
	}
	if !strings.Contains(res[4].Log, "registered by "+mal.ID) {
		t.Fatalf("the refusal does not name the sponsor's pool: %s", res[4].Log)
	}
	h.mustOK(h.sign(honest, &Noop{Payload: []byte("unaffected")}))

	// Self-registered patients share the open pool.
	s1, s2 := newKS(t, "s1"), newKS(t, "s2")
	h.mustOK(h.sign(s1, registration(s1, identity.Patient, "", "")), h.sign(s2, registration(s2, identity.Patient, "", "")))
	h.mustOK(h.sign(s1, &Noop{}))
	if r := h.block(h.sign(s2, &Noop{}))[0]; r.Code != admission.CodeOverTxs || !strings.Contains(r.Log, "self-registered") {
		t.Fatalf("the open pool let a fourth transaction through: %s/%d %s", r.Codespace, r.Code, r.Log)
	}
}

// TestBudgetsOffChargesNothing: a benchmark chain created with budgets off keeps no usage.
func TestBudgetsOffChargesNothing(t *testing.T) {
	reg := newKS(t, "registrar")
	h := newHarnessGenesis(t, reg, genesisWith(t, reg, Params{AllowNoop: true, Budgets: &admission.Budgets{Off: true, WindowSeconds: 1}}))
	h.mustOK(h.sign(reg, &Noop{}))
	if u := h.st.Committed().Get(admission.Key(reg.ID)); u != nil {
		t.Fatalf("budgets off, yet usage %x was kept", u)
	}
	on := newHarnessWith(t, reg)
	on.mustOK(on.sign(reg, &Noop{}))
	if admission.DecodeUsage(on.st.Committed().Get(admission.Key(reg.ID))).Txs != 1 {
		t.Fatal("the default genesis charged nothing")
	}
}
