package claims

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/state"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// world drives the claims handlers directly over a real state store, one overlay per
// transaction as the application does, to reach every rejection quickly. The end-to-end
// paths run on real nodes in internal/scenario.
type world struct {
	t                       *testing.T
	st                      *state.Store
	height                  int64
	ids                     map[string]*identity.Identity
	dr, dr2, pat, ins, ins2 string
	enc                     EncounterRef
	lastHash                string // tx hash of the last transaction run
}

func newWorld(t *testing.T) *world {
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{t: t, st: st, ids: map[string]*identity.Identity{}}
	mk := func(name string, role identity.Role, org string) string {
		kp, err := keys.Generate()
		if err != nil {
			t.Fatal(err)
		}
		id := &identity.Identity{ID: keys.IDFromSignKey(kp.SignPublic()), Role: role, Name: name, Organization: org,
			SignKey: kp.SignPublic(), EncKey: kp.EncPublic(), KeyVersion: 1, Active: true}
		ov := st.Begin()
		identity.Put(ov, id)
		ov.Flush()
		w.ids[id.ID] = id
		return id.ID
	}
	w.dr, w.dr2 = mk("dr", identity.Provider, "St Mary"), mk("dr2", identity.Provider, "City")
	w.pat, w.ins, w.ins2 = mk("pat", identity.Patient, ""), mk("acme", identity.Insurer, "Acme"), mk("mutual", identity.Insurer, "Mutual")
	w.ids[w.pat].RegisteredBy = w.dr
	ov := st.Begin()
	identity.Put(ov, w.ids[w.pat])
	ov.Flush()
	cat, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	w.ok(w.pat, func(s Store, e identity.Env) *tx.Error {
		return consent.ExecPublishKeys(s, e, w.pat, &consent.PublishKeysBody{Keys: []consent.CategoryKey{{Category: "general", Version: 1, EncKey: cat.EncPublic()}}})
	})
	w.ok(w.pat, func(s Store, e identity.Env) *tx.Error {
		return consent.ExecGrant(s, e, w.pat, &consent.GrantBody{Grant: consent.Grant{Grantee: w.ins, Actions: []string{consent.Read},
			Purposes: []string{consent.Payment}, Scope: consent.Scope{ResourceTypes: []string{ClaimResourceType}}}})
	})
	w.ok(w.pat, func(s Store, e identity.Env) *tx.Error {
		return consent.ExecGrant(s, e, w.pat, &consent.GrantBody{Grant: consent.Grant{Grantee: w.dr2, Actions: []string{consent.Write},
			Purposes: []string{consent.Treatment}}})
	})
	w.enc = w.encounter(w.dr, "Encounter")
	w.ok(w.ins, func(s Store, e identity.Env) *tx.Error {
		return ExecPublishPlan(s, e, w.ins, &PublishPlanBody{Plan: Plan{ID: "gold", Name: "Gold", Effective: "2020-01-01",
			Benefits: []Benefit{{System: sct, Code: "1"}, {System: sct, Code: "3", PriorAuth: true}}}})
	})
	w.ok(w.ins, func(s Store, e identity.Env) *tx.Error {
		return ExecEnroll(s, e, w.ins, &EnrollBody{Patient: w.pat, Plan: "gold", MemberID: "M", Start: "2020-01-01"})
	})
	return w
}

// run executes one transaction's handler in its own overlay, flushing only on success.
func (w *world) run(signer string, f func(Store, identity.Env) *tx.Error) *tx.Error {
	w.height++
	var h [32]byte
	rand.Read(h[:])
	env := identity.Env{ChainID: "c", Height: w.height, Time: time.Date(2026, 1, 1, 0, 0, int(w.height), 0, time.UTC),
		TxHash: hex.EncodeToString(h[:]), Signer: w.ids[signer]}
	w.lastHash = env.TxHash
	ov := w.st.Begin()
	if err := f(ov, env); err != nil {
		return err
	}
	ov.Flush()
	return nil
}

func (w *world) ok(signer string, f func(Store, identity.Env) *tx.Error) {
	w.t.Helper()
	if err := w.run(signer, f); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) refused(what string, code uint32, signer string, f func(Store, identity.Env) *tx.Error) {
	w.t.Helper()
	before := w.st.WorkingHash()
	err := w.run(signer, f)
	if err == nil || err.Codespace != string(Space) || err.Code != code {
		w.t.Fatalf("%s: want claims/%d, got %v", what, code, err)
	}
	if string(w.st.WorkingHash()) != string(before) {
		w.t.Fatalf("%s: a rejected transaction changed the state", what)
	}
}

// encounter writes a record of resource type rtype by author, as records.ExecPut would
// accept it (the wraps are opaque bytes of the right size).
func (w *world) encounter(author, rtype string) EncounterRef {
	ct := []byte(fmt.Sprintf("ciphertext %d", w.height))
	m := records.Meta{RecordID: fmt.Sprintf("r-%d", w.height), Version: 1, Patient: w.pat, Category: "general", ResourceType: rtype,
		ContentType: "application/fhir+json", Digest: sha256.Sum256(ct), Size: uint64(len(ct)), CategoryVersion: 1,
		PatientWrap: make([]byte, 1168), AuthorKeyVersion: 1, AuthorWrap: make([]byte, 1168)}
	w.ok(author, func(s Store, e identity.Env) *tx.Error {
		return records.ExecPut(s.(records.Store), e, author, &records.PutBody{Meta: m, Ciphertext: ct})
	})
	return EncounterRef{Record: m.RecordID, Version: 1, Digest: hex.EncodeToString(m.Digest[:])}
}

func (w *world) claim(mut func(*SubmitBody)) func(Store, identity.Env) *tx.Error {
	b := &SubmitBody{Patient: w.pat, Insurer: w.ins, Encounter: w.enc, ServiceDate: "2024-01-01", Lines: []LineInput{l(1, sct, "1", 100)}}
	if mut != nil {
		mut(b)
	}
	return func(s Store, e identity.Env) *tx.Error { return ExecSubmit(s, e, e.Signer.ID, b) }
}

func TestSubmitRejections(t *testing.T) {
	w := newWorld(t)
	byDr2 := w.encounter(w.dr2, "Encounter")
	obs := w.encounter(w.dr, "Observation")
	for _, c := range []struct {
		what   string
		code   uint32
		signer string
		mut    func(*SubmitBody)
	}{
		{"submitted by an insurer", CodeUnauthorized, w.ins, nil},
		{"submitted by the patient", CodeUnauthorized, w.pat, nil},
		{"another provider's encounter", CodeNotAuthor, w.dr, func(b *SubmitBody) { b.Encounter = byDr2 }},
		{"not an Encounter", CodeEncounter, w.dr, func(b *SubmitBody) { b.Encounter = obs }},
		{"unknown version", CodeEncounter, w.dr, func(b *SubmitBody) { b.Encounter.Version = 2 }},
		{"wrong digest", CodeEncounter, w.dr, func(b *SubmitBody) { b.Encounter.Digest = hex.EncodeToString(make([]byte, 32)) }},
		{"uppercase digest", CodeInvalid, w.dr, func(b *SubmitBody) { b.Encounter.Digest = "AB" + b.Encounter.Digest[2:] }},
		{"insurer is a provider", CodeNotFound, w.dr, func(b *SubmitBody) { b.Insurer = w.dr2 }},
		{"no consent for this insurer", CodeNoConsent, w.dr, func(b *SubmitBody) { b.Insurer = w.ins2 }},
		{"patient is a provider", CodeNotFound, w.dr, func(b *SubmitBody) { b.Patient = w.dr2 }},
		{"after the encounter was recorded", CodeInvalid, w.dr, func(b *SubmitBody) { b.ServiceDate = "2026-01-02" }},
		{"no lines", CodeInvalid, w.dr, func(b *SubmitBody) { b.Lines = nil }},
		{"repeated sequence", CodeInvalid, w.dr, func(b *SubmitBody) { b.Lines = append(b.Lines, l(1, sct, "1", 5)) }},
		{"wildcard code", CodeInvalid, w.dr, func(b *SubmitBody) { b.Lines[0].Code = Any }},
		{"zero quantity", CodeInvalid, w.dr, func(b *SubmitBody) { b.Lines[0].Quantity = 0 }},
		{"charge over the maximum", CodeInvalid, w.dr, func(b *SubmitBody) { b.Lines[0].Charge = MaxAmount + 1 }},
		{"unknown claim type", CodeInvalid, w.dr, func(b *SubmitBody) { b.ClaimType = "dental" }},
		{"101 lines", CodeInvalid, w.dr, func(b *SubmitBody) {
			b.Lines = nil
			for i := range MaxLines + 1 {
				b.Lines = append(b.Lines, l(i+1, sct, "1", 1))
			}
		}},
	} {
		w.refused(c.what, c.code, c.signer, w.claim(c.mut))
	}
	w.ok(w.dr, w.claim(nil))
	w.refused("duplicate", CodeDuplicate, w.dr, w.claim(nil))
	// A deactivated insurer receives no claims.
	ins := w.ids[w.ins]
	ins.Active = false
	ov := w.st.Begin()
	identity.Put(ov, ins)
	ov.Flush()
	w.refused("deactivated insurer", CodeNotFound, w.dr, w.claim(func(b *SubmitBody) { b.ServiceDate = "2024-01-02" }))
}

func TestPriorAuthRules(t *testing.T) {
	w := newWorld(t)
	req := func(mut func(*AuthRequestBody)) func(Store, identity.Env) *tx.Error {
		b := &AuthRequestBody{Patient: w.pat, Insurer: w.ins, Category: "general", System: sct, Code: "3", From: "2024-01-01", To: "2024-01-31", Quantity: 2}
		if mut != nil {
			mut(b)
		}
		return func(s Store, e identity.Env) *tx.Error { return ExecRequestAuth(s, e, e.Signer.ID, b) }
	}
	w.refused("request by the insurer", CodeUnauthorized, w.ins, req(nil))
	w.refused("window backwards", CodeInvalid, w.dr, req(func(b *AuthRequestBody) { b.To = "2023-12-31" }))
	w.refused("no consent", CodeNoConsent, w.dr, req(func(b *AuthRequestBody) { b.Insurer = w.ins2 }))
	w.refused("bad category", CodeInvalid, w.dr, req(func(b *AuthRequestBody) { b.Category = "Bad Category" }))
	w.ok(w.dr, req(nil))
	pa := GetAuth(w.st, AuthID(w.lastHash))
	if pa == nil || pa.Status != AuthPending {
		t.Fatalf("stored request: %+v", pa)
	}
	decide := func(approve bool) func(Store, identity.Env) *tx.Error {
		return func(s Store, e identity.Env) *tx.Error {
			return ExecDecideAuth(s, e, e.Signer.ID, &AuthDecisionBody{ID: pa.ID, Approve: approve})
		}
	}
	w.refused("decided by another insurer", CodeUnauthorized, w.ins2, decide(true))
	w.refused("decided by the provider", CodeUnauthorized, w.dr, decide(true))
	w.ok(w.ins, decide(true))
	w.refused("decided twice", CodeState, w.ins, decide(false))

	// Used by another provider, outside its window, or beyond its quantity: no authorization.
	enc2 := w.encounter(w.dr2, "Encounter")
	line := []LineInput{l(1, sct, "3", 100)}
	outcome := func(signer string, enc EncounterRef, date Date) string {
		var got *Claim
		w.ok(signer, func(s Store, e identity.Env) *tx.Error {
			b := &SubmitBody{Patient: w.pat, Insurer: w.ins, Encounter: enc, ServiceDate: date, PriorAuths: []string{pa.ID}, Lines: line}
			if err := ExecSubmit(s, e, signer, b); err != nil {
				return err
			}
			got = GetClaim(s, ClaimID(e.TxHash))
			return nil
		})
		return got.Lines[0].Outcome
	}
	for _, c := range []struct {
		signer string
		enc    EncounterRef
		date   Date
		want   string
	}{
		{w.dr2, enc2, "2024-01-10", Denied},   // another provider
		{w.dr, w.enc, "2024-02-01", Denied},   // after the window
		{w.dr, w.enc, "2024-01-10", Approved}, // 1 of 2
		{w.dr, w.enc, "2024-01-11", Approved}, // 2 of 2
		{w.dr, w.enc, "2024-01-12", Denied},   // used up
	} {
		if got := outcome(c.signer, c.enc, c.date); got != c.want {
			t.Errorf("prior authorization for %s on %s: %s, want %s", c.signer[:6], c.date, got, c.want)
		}
	}
}

func TestCoveragePaymentAppealRules(t *testing.T) {
	w := newWorld(t)
	enroll := func(b EnrollBody) func(Store, identity.Env) *tx.Error {
		return func(s Store, e identity.Env) *tx.Error { return ExecEnroll(s, e, e.Signer.ID, &b) }
	}
	end := func(b EndCoverageBody) func(Store, identity.Env) *tx.Error {
		return func(s Store, e identity.Env) *tx.Error { return ExecEndCoverage(s, e, e.Signer.ID, &b) }
	}
	w.refused("enrolled by a provider", CodeUnauthorized, w.dr, enroll(EnrollBody{Patient: w.pat, Plan: "gold", MemberID: "X", Start: "2030-01-01"}))
	w.refused("unknown plan", CodeNotFound, w.ins, enroll(EnrollBody{Patient: w.pat, Plan: "silver", MemberID: "X", Start: "2030-01-01"}))
	w.refused("another insurer's plan", CodeNotFound, w.ins2, enroll(EnrollBody{Patient: w.pat, Plan: "gold", MemberID: "X", Start: "2030-01-01"}))
	w.refused("overlap", CodeOverlap, w.ins, enroll(EnrollBody{Patient: w.pat, Plan: "gold", MemberID: "X", Start: "2030-01-01"}))
	w.refused("no member id", CodeInvalid, w.ins, enroll(EnrollBody{Patient: w.pat, Plan: "gold", Start: "2030-01-01"}))
	w.refused("not a patient", CodeNotFound, w.ins, enroll(EnrollBody{Patient: w.dr, Plan: "gold", MemberID: "X", Start: "2030-01-01"}))
	w.refused("end before start", CodeInvalid, w.ins, end(EndCoverageBody{Patient: w.pat, Start: "2020-01-01", End: "2019-12-31"}))
	w.refused("no such coverage", CodeNotFound, w.ins, end(EndCoverageBody{Patient: w.pat, Start: "2021-01-01", End: "2029-12-31"}))
	w.ok(w.ins, end(EndCoverageBody{Patient: w.pat, Start: "2020-01-01", End: "2029-12-31"}))
	w.refused("extending an ended coverage", CodeInvalid, w.ins, end(EndCoverageBody{Patient: w.pat, Start: "2020-01-01", End: "2030-06-30"}))
	w.ok(w.ins, enroll(EnrollBody{Patient: w.pat, Plan: "gold", MemberID: "X", Start: "2030-01-01"}))

	w.ok(w.dr, w.claim(func(b *SubmitBody) { b.Lines = append(b.Lines, l(2, sct, "9", 50)) }))
	id := ClaimID(w.lastHash)
	c := GetClaim(w.st, id)
	if c.Payable != 100 || c.Lines[1].Outcome != Denied {
		t.Fatalf("claim: %+v", c)
	}
	pay := func(amount int64, ref string) func(Store, identity.Env) *tx.Error {
		return func(s Store, e identity.Env) *tx.Error {
			return ExecPayment(s, e, e.Signer.ID, &PaymentBody{Claim: id, Amount: amount, Reference: ref})
		}
	}
	w.refused("payment by the provider", CodeUnauthorized, w.dr, pay(10, "r"))
	w.refused("payment without reference", CodeInvalid, w.ins, pay(10, ""))
	w.refused("zero payment", CodeAmount, w.ins, pay(0, "r"))
	w.refused("overpayment", CodeAmount, w.ins, pay(101, "r"))
	w.refused("unknown claim", CodeNotFound, w.ins, func(s Store, e identity.Env) *tx.Error {
		return ExecPayment(s, e, w.ins, &PaymentBody{Claim: "cl-0000000000000000", Amount: 1, Reference: "r"})
	})

	appeal := func(line int) func(Store, identity.Env) *tx.Error {
		return func(s Store, e identity.Env) *tx.Error {
			return ExecAppeal(s, e, e.Signer.ID, &AppealBody{Claim: id, Line: line, Reason: "necessary"})
		}
	}
	decide := func(b AppealDecisionBody) func(Store, identity.Env) *tx.Error {
		b.Claim, b.Line = id, 2
		return func(s Store, e identity.Env) *tx.Error { return ExecDecideAppeal(s, e, e.Signer.ID, &b) }
	}
	w.refused("appeal by the insurer", CodeUnauthorized, w.ins, appeal(2))
	w.refused("appeal of an approved line", CodeState, w.dr, appeal(1))
	w.refused("appeal of a missing line", CodeNotFound, w.dr, appeal(3))
	w.refused("decision without an appeal", CodeState, w.ins, decide(AppealDecisionBody{}))
	w.ok(w.pat, appeal(2))
	w.refused("second appeal", CodeState, w.dr, appeal(2))
	w.refused("decided by another insurer", CodeUnauthorized, w.ins2, decide(AppealDecisionBody{Overturn: true, Allowed: 50}))
	w.refused("overturned above the charge", CodeAmount, w.ins, decide(AppealDecisionBody{Overturn: true, Allowed: 51}))
	w.refused("overturned to nothing", CodeAmount, w.ins, decide(AppealDecisionBody{Overturn: true, Allowed: 0}))
	w.ok(w.ins, decide(AppealDecisionBody{Overturn: true, Allowed: 50, Note: "ok"}))
	c = GetClaim(w.st, id)
	// Line 2's code has no rule: no cost sharing, the insurer pays what it allowed.
	if c.Payable != 150 || c.Lines[1].Outcome != Approved || c.Lines[1].Appeal.Original.Outcome != Denied {
		t.Fatalf("after the overturn: payable %d, line %+v", c.Payable, c.Lines[1])
	}
	w.ok(w.ins, pay(150, "EFT"))
	if c = GetClaim(w.st, id); c.Status != StatusPaid {
		t.Fatalf("status %s after full payment", c.Status)
	}
	w.refused("payment of a paid claim", CodeState, w.ins, pay(1, "r"))
}

// TestClaimsOnlyGrantCarriesNoKey: a payment grant that covers only claims needs no key
// share (claims are not encrypted records); one that also covers a record type still does.
func TestClaimsOnlyGrantCarriesNoKey(t *testing.T) {
	w := newWorld(t)
	grant := func(types ...string) func(Store, identity.Env) *tx.Error {
		return func(s Store, e identity.Env) *tx.Error {
			return consent.ExecGrant(s, e, w.pat, &consent.GrantBody{Grant: consent.Grant{Grantee: w.ins2, Actions: []string{consent.Read},
				Purposes: []string{consent.Payment}, Scope: consent.Scope{ResourceTypes: types}}})
		}
	}
	for _, types := range [][]string{{ClaimResourceType, "Observation"}, {"Encounter"}, nil} {
		err := w.run(w.pat, grant(types...))
		if err == nil || err.Codespace != string(consent.Space) || err.Code != consent.CodeMissingShare {
			t.Fatalf("read grant on %v without a key share: %v", types, err)
		}
	}
	w.ok(w.pat, grant(ClaimResourceType))
	for _, g := range consent.List(w.st, w.pat) {
		if g.Grantee == w.ins || g.Grantee == w.ins2 {
			if len(g.KeyShares) != 0 {
				t.Fatalf("payment grant %s holds %d key shares", g.ID, len(g.KeyShares))
			}
		}
	}
}
