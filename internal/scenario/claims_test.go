package scenario

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/app"
	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/claims"
	"github.com/ehrchain/ehrchain/internal/client"
	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/integrity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/records"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// Codes of the services in the claims story.
const (
	snomed     = "http://snomed.info/sct"
	cvx        = "http://hl7.org/fhir/sid/cvx"
	checkUp    = "185349003" // Encounter for check up
	colonoscop = "73761001"  // Colonoscopy
	physio     = "91251008"  // Physical therapy procedure
	cosmetic   = "50223000"  // not in the plan
	flu        = "140"       // CVX influenza vaccine
)

// claimsStory extends the consent story's cast with insurers.
type claimsStory struct {
	*story
	ins, ins2 *keys.Keystore
	chainID   string
}

func newClaimsStory(t *testing.T) *claimsStory {
	s := &claimsStory{story: newStory(t)}
	var err error
	s.chainID, err = s.c.ChainIDOf(s.ctx)
	s.must(err)
	s.ins, s.ins2 = s.ks("acme"), s.ks("mutual")
	s.send(s.reg, client.RegistrationFor(s.chainID, s.ins, identity.Insurer, "Acme", "Acme Health", ""))
	s.send(s.reg, client.RegistrationFor(s.chainID, s.ins2, identity.Insurer, "Mutual", "Synthea Mutual", ""))
	return s
}

// encounter writes a real Synthea Encounter for patient as author and returns its metadata.
func (s *claimsStory) encounter(author, patient *keys.Keystore) *records.Meta {
	s.t.Helper()
	m, err := s.c.PutRecord(s.ctx, author, client.NewRecord{Patient: patient.ID, Category: "general",
		ResourceType: "Encounter", ContentType: "application/fhir+json", Plaintext: syntheaEncounter(s.t)})
	s.must(err)
	return m
}

func (s *claimsStory) submit(provider, patient *keys.Keystore, ins *keys.Keystore, enc *records.Meta, dos claims.Date, lines ...claims.LineInput) (*claims.Claim, error) {
	return s.c.SubmitClaim(s.ctx, provider, claims.SubmitBody{Patient: patient.ID, Insurer: ins.ID,
		Encounter: client.EncounterRef(enc), ServiceDate: dos, Lines: lines})
}

func line(seq int, system, code string, cents int64) claims.LineInput {
	return claims.LineInput{Seq: seq, System: system, Code: code, Quantity: 1, Charge: cents}
}

// expectLine checks one adjudicated line.
func expectLine(t *testing.T, c *claims.Claim, seq int, outcome string, allowed, patient, payer int64, reasons ...string) {
	t.Helper()
	for _, l := range c.Lines {
		if l.Seq != seq {
			continue
		}
		var got []string
		for _, r := range l.Reasons {
			got = append(got, r.Code)
		}
		if l.Outcome != outcome || l.Allowed != allowed || l.PatientShare() != patient || l.Payer != payer || !slices.Equal(got, reasons) {
			t.Fatalf("claim %s line %d: got %s allowed %d patient %d payer %d reasons %v; want %s %d %d %d %v",
				c.ID, seq, l.Outcome, l.Allowed, l.PatientShare(), l.Payer, got, outcome, allowed, patient, payer, reasons)
		}
		return
	}
	t.Fatalf("claim %s has no line %d", c.ID, seq)
}

var syntheaEncounterJSON []byte

func syntheaEncounter(t *testing.T) []byte {
	if syntheaEncounterJSON != nil {
		return syntheaEncounterJSON
	}
	raw, err := os.ReadFile(filepath.Join(syntheaDir, syntheaFile))
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b.Entry {
		var h struct{ ResourceType string }
		json.Unmarshal(e.Resource, &h)
		if h.ResourceType == "Encounter" {
			syntheaEncounterJSON = e.Resource
			return e.Resource
		}
	}
	t.Fatal("no Encounter in the Synthea bundle")
	return nil
}

const (
	syntheaFile = "Abdul_Koepp_e925b0f3-8006-43f6-aa31-94bd215e55e7.json"
)

// acmePlan is the insurer's plan, version 1.
func acmePlan() claims.Plan {
	return claims.Plan{ID: "gold", Name: "Acme Gold", Effective: "2020-01-01", Benefits: []claims.Benefit{
		{System: snomed, Code: checkUp, Display: "Check up", Copay: 2000},
		{System: cvx, Code: claims.Any, Display: "Vaccines", CoinsuranceBP: 2000},
		{System: snomed, Code: colonoscop, Display: "Colonoscopy", CoinsuranceBP: 1000, PriorAuth: true},
		{System: snomed, Code: physio, Display: "Physiotherapy", MaxPerService: 10000, PeriodLimit: 25000, CoinsuranceBP: 2000},
	}}
}

func TestClaimsStory(t *testing.T) {
	s := newClaimsStory(t)
	ctx, c := s.ctx, s.c

	// The insurer publishes its plan; the patient is enrolled and lets the insurer receive
	// claims about "general" records for payment.
	p, err := c.PublishPlan(ctx, s.ins, acmePlan())
	s.must(err)
	if p.Version != 1 || p.Insurer != s.ins.ID {
		t.Fatalf("published plan: %+v", p)
	}
	_, err = c.Send(ctx, s.a, &claims.PublishPlanBody{Plan: acmePlan()})
	refused(t, "a provider publishing a plan", err, http.StatusForbidden, claims.Space, claims.CodeUnauthorized)
	s.must(c.Enroll(ctx, s.ins, claims.EnrollBody{Patient: s.patient.ID, Plan: "gold", MemberID: "M-1", Start: "2021-01-01"}))
	err = c.Enroll(ctx, s.ins, claims.EnrollBody{Patient: s.patient.ID, Plan: "gold", MemberID: "M-2", Start: "2023-01-01"})
	refused(t, "overlapping coverage", err, http.StatusConflict, claims.Space, claims.CodeOverlap)

	enc := s.encounter(s.a, s.patient)
	// Without the patient's payment consent, nothing flows to the insurer.
	_, err = s.submit(s.a, s.patient, s.ins, enc, "2024-03-01", line(1, snomed, checkUp, 12500))
	refused(t, "claim without payment consent", err, http.StatusForbidden, claims.Space, claims.CodeNoConsent)
	_, err = c.Grant(ctx, s.patient, consent.Grant{Grantee: s.ins.ID, Scope: consent.Scope{Categories: []string{"general"},
		ResourceTypes: []string{claims.ClaimResourceType}}, Actions: []string{consent.Read}, Purposes: []string{consent.Payment}})
	s.must(err)
	gs, err := c.As(s.patient).Grants(ctx, s.patient.ID)
	s.must(err)
	for _, g := range gs {
		if g.Grantee == s.ins.ID && len(g.KeyShares) != 0 {
			t.Fatalf("the insurer's claims-only grant carries %d category key shares", len(g.KeyShares))
		}
	}

	t.Run("approved claim and payment", func(t *testing.T) {
		cl, err := s.submit(s.a, s.patient, s.ins, enc, "2024-03-01", line(1, snomed, checkUp, 12500), line(2, cvx, flu, 14052))
		s.must(err)
		expectLine(t, cl, 1, claims.Approved, 12500, 2000, 10500)
		expectLine(t, cl, 2, claims.Approved, 14052, 2810, 11242)
		if cl.Payable != 21742 || cl.PatientShare != 4810 || cl.Status != claims.StatusPayable || cl.PlanVersion != 1 || cl.MemberID != "M-1" {
			t.Fatalf("claim: payable %d patient %d status %s plan v%d member %s", cl.Payable, cl.PatientShare, cl.Status, cl.PlanVersion, cl.MemberID)
		}
		err = c.RecordPayment(ctx, s.ins2, cl.ID, 100, "EFT-X")
		refused(t, "payment by another insurer", err, http.StatusForbidden, claims.Space, claims.CodeUnauthorized)
		err = c.RecordPayment(ctx, s.ins, cl.ID, cl.Payable+1, "EFT-1")
		refused(t, "overpayment", err, http.StatusBadRequest, claims.Space, claims.CodeAmount)
		s.must(c.RecordPayment(ctx, s.ins, cl.ID, 20000, "EFT-1"))
		got, err := c.Claim(ctx, s.patient, cl.ID)
		s.must(err)
		if got.Status != claims.StatusPartiallyPaid || got.Paid != 20000 {
			t.Fatalf("after a partial payment the patient sees %s, paid %d", got.Status, got.Paid)
		}
		s.must(c.RecordPayment(ctx, s.ins, cl.ID, 1742, "EFT-2"))
		for _, who := range []*keys.Keystore{s.a, s.patient, s.ins} {
			got, err := c.Claim(ctx, who, cl.ID)
			s.must(err)
			if got.Status != claims.StatusPaid || got.Paid != got.Payable || len(got.Payments) != 2 {
				t.Fatalf("%s sees status %s, paid %d of %d", who.Name, got.Status, got.Paid, got.Payable)
			}
		}
		err = c.RecordPayment(ctx, s.ins, cl.ID, 1, "EFT-3")
		refused(t, "payment of a paid claim", err, http.StatusConflict, claims.Space, claims.CodeState)
		// Someone who is not a party to the claim does not see it.
		_, err = c.Claim(ctx, s.b, cl.ID)
		refused(t, "claim read by an unrelated provider", err, http.StatusNotFound, claims.Space, claims.CodeNotFound)
		// The explanation of benefit the patient sees carries the same amounts.
		got, err = c.Claim(ctx, s.patient, cl.ID)
		s.must(err)
		eob := got.ExplanationOfBenefit()
		if eob.ResourceType != "ExplanationOfBenefit" || len(eob.Item) != 2 || eob.Payment.Amount.Value != "217.42" || eob.Total[2].Amount.Value != "217.42" {
			t.Fatalf("EOB: %+v", eob)
		}
	})

	t.Run("duplicate claim rejected", func(t *testing.T) {
		// The same services for the same encounter and day, in another line order.
		_, err := s.submit(s.a, s.patient, s.ins, enc, "2024-03-01", line(1, cvx, flu, 14052), line(2, snomed, checkUp, 12500))
		refused(t, "duplicate claim", err, http.StatusConflict, claims.Space, claims.CodeDuplicate)
	})

	t.Run("line over limit partially approved", func(t *testing.T) {
		e := s.encounter(s.a, s.patient)
		c1, err := s.submit(s.a, s.patient, s.ins, e, "2024-04-01", line(1, snomed, physio, 15000))
		s.must(err)
		expectLine(t, c1, 1, claims.Partial, 10000, 2000, 8000, "45") // per-service maximum
		c2, err := s.submit(s.a, s.patient, s.ins, e, "2024-04-08", line(1, snomed, physio, 9000), line(2, snomed, physio, 9000))
		s.must(err)
		expectLine(t, c2, 1, claims.Approved, 9000, 1800, 7200)
		expectLine(t, c2, 2, claims.Partial, 6000, 1200, 4800, "119") // 25,000 a year: 10,000 + 9,000 used
		c3, err := s.submit(s.a, s.patient, s.ins, e, "2024-04-15", line(1, snomed, physio, 5000))
		s.must(err)
		expectLine(t, c3, 1, claims.Denied, 0, 0, 0, "119")
		if c3.Status != claims.StatusDenied {
			t.Fatalf("fully denied claim has status %s", c3.Status)
		}
		// A new benefit year starts from zero.
		c4, err := s.submit(s.a, s.patient, s.ins, e, "2025-01-10", line(1, snomed, physio, 5000))
		s.must(err)
		expectLine(t, c4, 1, claims.Approved, 5000, 1000, 4000)

		// Appeal of the partly approved line: the insurer re-adjudicates it, audited.
		err = c.Appeal(ctx, s.b, c2.ID, 2, "not mine")
		refused(t, "appeal by a stranger", err, http.StatusForbidden, claims.Space, claims.CodeUnauthorized)
		err = c.Appeal(ctx, s.a, c2.ID, 1, "approved already")
		refused(t, "appeal of an approved line", err, http.StatusConflict, claims.Space, claims.CodeState)
		s.must(c.Appeal(ctx, s.a, c2.ID, 2, "second session was medically necessary"))
		err = c.DecideAppeal(ctx, s.ins, claims.AppealDecisionBody{Claim: c2.ID, Line: 2, Overturn: true, Allowed: 9001})
		refused(t, "overturn above the charge", err, http.StatusBadRequest, claims.Space, claims.CodeAmount)
		s.must(c.DecideAppeal(ctx, s.ins, claims.AppealDecisionBody{Claim: c2.ID, Line: 2, Overturn: true, Allowed: 9000, Note: "records reviewed"}))
		got, err := c.Claim(ctx, s.a, c2.ID)
		s.must(err)
		expectLine(t, got, 2, claims.Approved, 9000, 1800, 7200)
		if got.Payable != 14400 || got.Lines[1].Appeal.Status != claims.AppealOverturned || got.Lines[1].Appeal.Original.Allowed != 6000 {
			t.Fatalf("after the appeal: payable %d, appeal %+v", got.Payable, got.Lines[1].Appeal)
		}
		err = c.DecideAppeal(ctx, s.ins, claims.AppealDecisionBody{Claim: c2.ID, Line: 2})
		refused(t, "deciding an appeal twice", err, http.StatusConflict, claims.Space, claims.CodeState)
		// A denial that stands is upheld with a reason.
		s.must(c.Appeal(ctx, s.patient, c3.ID, 1, "please reconsider"))
		s.must(c.DecideAppeal(ctx, s.ins, claims.AppealDecisionBody{Claim: c3.ID, Line: 1, Note: "yearly maximum reached"}))
		got, err = c.Claim(ctx, s.patient, c3.ID)
		s.must(err)
		expectLine(t, got, 1, claims.Denied, 0, 0, 0, "119", "A1")
	})

	t.Run("uncovered service denied with a reason", func(t *testing.T) {
		e := s.encounter(s.a, s.patient)
		cl, err := s.submit(s.a, s.patient, s.ins, e, "2024-05-01", line(1, snomed, checkUp, 12500), line(2, snomed, cosmetic, 50000))
		s.must(err)
		expectLine(t, cl, 1, claims.Approved, 12500, 2000, 10500)
		expectLine(t, cl, 2, claims.Denied, 0, 0, 0, "204")
		cr := cl.ClaimResponse()
		if cr.ResourceType != "ClaimResponse" || cr.Outcome != "complete" || len(cr.Item) != 2 {
			t.Fatalf("ClaimResponse: %+v", cr)
		}
		last := cr.Item[1].Adjudication[len(cr.Item[1].Adjudication)-1]
		if last.Reason == nil || last.Reason.Coding[0].Code != "204" || last.Reason.Coding[0].System != claims.ReasonSystem {
			t.Fatalf("ClaimResponse line 2 carries no denial reason: %+v", cr.Item[1].Adjudication)
		}
	})

	t.Run("missing prior authorization", func(t *testing.T) {
		e := s.encounter(s.a, s.patient)
		cl, err := s.submit(s.a, s.patient, s.ins, e, "2024-06-03", line(1, snomed, colonoscop, 98150))
		s.must(err)
		expectLine(t, cl, 1, claims.Denied, 0, 0, 0, "197")
		// Request, approval, and a claim that references it.
		pa, err := c.RequestPriorAuth(ctx, s.a, claims.AuthRequestBody{Patient: s.patient.ID, Insurer: s.ins.ID, Category: "general",
			System: snomed, Code: colonoscop, From: "2024-06-01", To: "2024-06-30", Quantity: 1})
		s.must(err)
		err = c.DecidePriorAuth(ctx, s.ins2, pa, true, "")
		refused(t, "decision by another insurer", err, http.StatusForbidden, claims.Space, claims.CodeUnauthorized)
		e2 := s.encounter(s.a, s.patient)
		withPending, err := s.c.SubmitClaim(ctx, s.a, claims.SubmitBody{Patient: s.patient.ID, Insurer: s.ins.ID, Encounter: client.EncounterRef(e2),
			ServiceDate: "2024-06-10", PriorAuths: []string{pa}, Lines: []claims.LineInput{line(1, snomed, colonoscop, 98150)}})
		s.must(err)
		expectLine(t, withPending, 1, claims.Denied, 0, 0, 0, "197")
		s.must(c.DecidePriorAuth(ctx, s.ins, pa, true, "indicated"))
		e3 := s.encounter(s.a, s.patient)
		ok, err := s.c.SubmitClaim(ctx, s.a, claims.SubmitBody{Patient: s.patient.ID, Insurer: s.ins.ID, Encounter: client.EncounterRef(e3),
			ServiceDate: "2024-06-11", PriorAuths: []string{pa}, Lines: []claims.LineInput{line(1, snomed, colonoscop, 98150)}})
		s.must(err)
		expectLine(t, ok, 1, claims.Approved, 98150, 9815, 88335)
		if ok.Lines[0].PriorAuth != pa {
			t.Fatalf("approved line names prior authorization %q, want %s", ok.Lines[0].PriorAuth, pa)
		}
		// The authorization was for one service: it is used up.
		e4 := s.encounter(s.a, s.patient)
		again, err := s.c.SubmitClaim(ctx, s.a, claims.SubmitBody{Patient: s.patient.ID, Insurer: s.ins.ID, Encounter: client.EncounterRef(e4),
			ServiceDate: "2024-06-12", PriorAuths: []string{pa}, Lines: []claims.LineInput{line(1, snomed, colonoscop, 98150)}})
		s.must(err)
		expectLine(t, again, 1, claims.Denied, 0, 0, 0, "197")
		got, err := c.PriorAuth(ctx, s.patient, pa)
		s.must(err)
		if got.Status != claims.AuthApproved || got.Used != 1 || !slices.Equal(got.Claims, []string{ok.ID}) {
			t.Fatalf("prior authorization after use: %+v", got)
		}
	})

	t.Run("plan change between two dates of service", func(t *testing.T) {
		v2 := acmePlan()
		v2.Effective = "2024-07-01"
		v2.Benefits[0].Copay = 5000
		p2, err := c.PublishPlan(ctx, s.ins, v2)
		s.must(err)
		if p2.Version != 2 {
			t.Fatalf("second version numbered %d", p2.Version)
		}
		retro := acmePlan()
		retro.Effective = "2024-06-30"
		_, err = c.Send(ctx, s.ins, &claims.PublishPlanBody{Plan: retro})
		refused(t, "retroactive plan version", err, http.StatusBadRequest, claims.Space, claims.CodePlanVersion)
		e := s.encounter(s.a, s.patient)
		before, err := s.submit(s.a, s.patient, s.ins, e, "2024-06-30", line(1, snomed, checkUp, 12500))
		s.must(err)
		after, err := s.submit(s.a, s.patient, s.ins, e, "2024-07-01", line(1, snomed, checkUp, 12500))
		s.must(err)
		if before.PlanVersion != 1 || after.PlanVersion != 2 {
			t.Fatalf("judged by versions %d and %d, want 1 and 2", before.PlanVersion, after.PlanVersion)
		}
		expectLine(t, before, 1, claims.Approved, 12500, 2000, 10500)
		expectLine(t, after, 1, claims.Approved, 12500, 5000, 7500)
	})

	t.Run("claims racing for one yearly limit are judged in block order", func(t *testing.T) {
		// Three claims signed in a row and submitted without waiting, so they share blocks:
		// 20,000 of the 25,000 yearly physiotherapy limit are left for 2025.
		e := s.encounter(s.a, s.patient)
		signer, _ := tx.ParseSigner(s.a.ID)
		seq, err := c.Sequence(ctx, s.a.ID)
		s.must(err)
		var hashes []string
		for i, day := range []claims.Date{"2025-02-01", "2025-02-02", "2025-02-03"} {
			body := &claims.SubmitBody{Patient: s.patient.ID, Insurer: s.ins.ID, Encounter: client.EncounterRef(e), ServiceDate: day,
				Lines: []claims.LineInput{line(1, snomed, physio, 10000)}}
			res, err := c.Submit(ctx, tx.Sign(s.a.Keys.Sign, signer, s.chainID, seq+uint64(i), body).Encode(), false)
			s.must(err)
			hashes = append(hashes, res.Hash)
		}
		var got []*claims.Claim
		for _, h := range hashes {
			var res app.Result
			for {
				if res, err = c.Tx(ctx, h); err == nil {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("claim tx %s never committed: %v", h, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if res.Code != 0 {
				t.Fatalf("claim tx %s rejected: %s/%d %s", h, res.Codespace, res.Code, res.Log)
			}
			cl, err := c.Claim(ctx, s.a, claims.ClaimID(h))
			s.must(err)
			got = append(got, cl)
		}
		expectLine(t, got[0], 1, claims.Approved, 10000, 2000, 8000)
		expectLine(t, got[1], 1, claims.Approved, 10000, 2000, 8000)
		expectLine(t, got[2], 1, claims.Denied, 0, 0, 0, "119")
	})

	t.Run("claim submitted by a provider that did not author the encounter rejected", func(t *testing.T) {
		e := s.encounter(s.a, s.patient)
		_, err := s.submit(s.b, s.patient, s.ins, e, "2024-08-01", line(1, snomed, checkUp, 12500))
		refused(t, "claim by a non-author", err, http.StatusForbidden, claims.Space, claims.CodeNotAuthor)
		forged := client.EncounterRef(e)
		forged.Digest = forged.Digest[:63] + string("0123456789abcdef"[(int(forged.Digest[63])+1)%16])
		_, err = s.c.SubmitClaim(ctx, s.a, claims.SubmitBody{Patient: s.patient.ID, Insurer: s.ins.ID, Encounter: forged,
			ServiceDate: "2024-08-01", Lines: []claims.LineInput{line(1, snomed, checkUp, 12500)}})
		refused(t, "claim with a wrong encounter digest", err, http.StatusBadRequest, claims.Space, claims.CodeEncounter)
		obs, err := c.PutRecord(ctx, s.a, client.NewRecord{Patient: s.patient.ID, Category: "general", ResourceType: "Observation",
			ContentType: "application/fhir+json", Plaintext: []byte(`{"resourceType":"Observation"}`)})
		s.must(err)
		_, err = s.submit(s.a, s.patient, s.ins, obs, "2024-08-01", line(1, snomed, checkUp, 12500))
		refused(t, "claim referencing an Observation", err, http.StatusBadRequest, claims.Space, claims.CodeEncounter)
		_, err = s.submit(s.a, s.patient, s.ins, e, "2099-01-01", line(1, snomed, checkUp, 12500))
		refused(t, "claim for a future date of service", err, http.StatusBadRequest, claims.Space, claims.CodeInvalid)
		_, err = s.submit(s.a, s.patient, s.ins, e, "2024-08-01", line(1, snomed, checkUp, -5))
		refused(t, "negative charge", err, http.StatusBadRequest, claims.Space, claims.CodeInvalid)
	})

	// A second patient of provider A, consenting to payment, not enrolled anywhere.
	other := s.ks("pat2")
	s.send(s.a, client.RegistrationFor(s.chainID, other, identity.Patient, "Pat Two", "", ""))
	_, err = c.PublishCategories(ctx, other, []string{"general"})
	s.must(err)
	var otherGrants []string
	for _, ins := range []*keys.Keystore{s.ins, s.ins2} {
		g, err := c.Grant(ctx, other, consent.Grant{Grantee: ins.ID, Scope: consent.Scope{ResourceTypes: []string{claims.ClaimResourceType}},
			Actions: []string{consent.Read}, Purposes: []string{consent.Payment}})
		s.must(err)
		otherGrants = append(otherGrants, g)
	}

	t.Run("claim for a patient without coverage", func(t *testing.T) {
		e := s.encounter(s.a, other)
		cl, err := s.submit(s.a, other, s.ins, e, "2024-09-01", line(1, snomed, checkUp, 12500))
		s.must(err)
		expectLine(t, cl, 1, claims.Denied, 0, 0, 0, "31")
		if cl.Status != claims.StatusDenied || cl.Payable != 0 {
			t.Fatalf("claim without coverage: status %s payable %d", cl.Status, cl.Payable)
		}
		// Before the coverage starts, and after it ends.
		s.must(c.Enroll(ctx, s.ins, claims.EnrollBody{Patient: other.ID, Plan: "gold", MemberID: "M-9", Start: "2024-10-01"}))
		s.must(c.EndCoverage(ctx, s.ins, claims.EndCoverageBody{Patient: other.ID, Start: "2024-10-01", End: "2024-10-31"}))
		pre, err := s.submit(s.a, other, s.ins, e, "2024-09-02", line(1, snomed, checkUp, 12500))
		s.must(err)
		expectLine(t, pre, 1, claims.Denied, 0, 0, 0, "26")
		post, err := s.submit(s.a, other, s.ins, e, "2024-11-01", line(1, snomed, checkUp, 12500))
		s.must(err)
		expectLine(t, post, 1, claims.Denied, 0, 0, 0, "27")
		in, err := s.submit(s.a, other, s.ins, e, "2024-10-15", line(1, snomed, checkUp, 12500))
		s.must(err)
		expectLine(t, in, 1, claims.Approved, 12500, 5000, 7500) // plan version 2 is in force by then
		// Once the patient revokes the insurer's payment consent, claims stop flowing to it.
		s.must(c.Revoke(ctx, other, otherGrants[0]))
		_, err = s.submit(s.a, other, s.ins, e, "2024-10-16", line(1, snomed, checkUp, 12500))
		refused(t, "claim after the consent was revoked", err, http.StatusForbidden, claims.Space, claims.CodeNoConsent)
	})

	t.Run("Synthea claim as input", func(t *testing.T) {
		// A real Synthea Claim, adjudicated under a plan like Synthea's own (20 % coinsurance on
		// everything): each priced line's payment equals Synthea's ExplanationOfBenefit.
		raw, err := os.ReadFile(filepath.Join(syntheaDir, syntheaFile))
		s.must(err)
		cs, es, err := claims.BundleClaims(raw)
		s.must(err)
		var fc *claims.FHIRClaim
		var eob *claims.EOB
		for _, e := range es {
			eb, err := claims.ParseEOB(e)
			s.must(err)
			for _, cr := range cs {
				f, err := claims.ParseFHIRClaim(cr)
				s.must(err)
				if f.ID == eb.Claim && len(f.Lines) > 1 && fc == nil {
					fc, eob = f, eb
				}
			}
		}
		if fc == nil {
			t.Fatal("no Synthea claim with a priced line")
		}
		_, err = c.PublishPlan(ctx, s.ins2, claims.Plan{ID: "basic", Name: "Synthea-like", Effective: "1900-01-01",
			Benefits: []claims.Benefit{{System: claims.Any, Code: claims.Any, CoinsuranceBP: 2000}}})
		s.must(err)
		s.must(c.Enroll(ctx, s.ins2, claims.EnrollBody{Patient: other.ID, Plan: "basic", MemberID: "S-1", Start: "1900-01-01"}))
		e := s.encounter(s.a, other)
		cl, err := s.c.SubmitClaim(ctx, s.a, claims.SubmitBody{Patient: other.ID, Insurer: s.ins2.ID, Encounter: client.EncounterRef(e),
			ServiceDate: fc.ServiceDate, Lines: fc.Lines, Source: fc.ID})
		s.must(err)
		if cl.Submitted != eob.Submitted {
			t.Fatalf("submitted %d, Synthea %d", cl.Submitted, eob.Submitted)
		}
		for _, l := range cl.Lines {
			for _, el := range eob.Lines {
				if el.Seq == l.Seq && el.Adjudicated && (l.Payer != el.Payment || l.Coinsurance != el.Coinsurance) {
					t.Fatalf("line %d: payer %d coinsurance %d, Synthea %d and %d", l.Seq, l.Payer, l.Coinsurance, el.Payment, el.Coinsurance)
				}
			}
		}
	})

	t.Run("claims are audited", func(t *testing.T) {
		count := map[string]int{}
		for _, e := range s.events() {
			count[e.Action]++
			if e.Action == audit.ClaimSubmit && (e.Claim == "" || e.Patient == "" || e.Purpose != consent.Payment || e.Grant == "") {
				t.Fatalf("claim submission event lacks its claim, patient, purpose or consent: %+v", e)
			}
		}
		for _, a := range []string{audit.PlanPublish, audit.CoverageEnroll, audit.CoverageEnd, audit.ClaimSubmit, audit.ClaimAdjudicate,
			audit.ClaimPay, audit.ClaimAppeal, audit.ClaimAppealDecide, audit.PriorAuthRequest, audit.PriorAuthDecide} {
			if count[a] == 0 {
				t.Errorf("no %s event on the ledger", a)
			}
		}
		if count[audit.ClaimSubmit] != count[audit.ClaimAdjudicate] {
			t.Errorf("%d submissions but %d adjudications", count[audit.ClaimSubmit], count[audit.ClaimAdjudicate])
		}
		// The patient finds every claim decision about them in their audit trail.
		r, err := c.AuditQuery(ctx, s.patient, audit.Filter{Action: "claim.*", Limit: audit.MaxLimit})
		s.must(err)
		n := 0
		for _, e := range r.Events {
			if e.Action == audit.ClaimAdjudicate {
				n++
			}
		}
		if n == 0 {
			t.Fatal("the patient's audit query shows no claim adjudication")
		}
		// Lists: each party sees the claims it is party to, and nobody else's.
		mine, err := c.ClaimsQuery(ctx, s.patient, claims.QueryList, "")
		s.must(err)
		for _, cl := range mine.Claims {
			if cl.Patient != s.patient.ID {
				t.Fatalf("patient's list holds claim %s of %s", cl.ID, cl.Patient)
			}
		}
		theirs, err := c.ClaimsQuery(ctx, s.ins2, claims.QueryList, "")
		s.must(err)
		if len(theirs.Claims) != 1 || theirs.Claims[0].Insurer != s.ins2.ID {
			t.Fatalf("second insurer lists %d claims", len(theirs.Claims))
		}
		cov, err := c.ClaimsQuery(ctx, s.patient, claims.QueryCoverage, s.patient.ID)
		s.must(err)
		if len(cov.Coverages) != 1 || cov.Coverages[0].MemberID != "M-1" {
			t.Fatalf("patient's coverage: %+v", cov.Coverages)
		}
		_, err = c.ClaimsQuery(ctx, s.b, claims.QueryCoverage, s.patient.ID)
		refused(t, "coverage asked by a provider", err, http.StatusForbidden, claims.Space, claims.CodeUnauthorized)
	})

	t.Run("replay gives the same decisions and app hash", func(t *testing.T) {
		// Each verification re-executes every block into a fresh state and checks the app hash
		// and the transaction results (codes included) against what the validators signed.
		s.node.Stop()
		var hashes [][]byte
		for run := 0; run < 2; run++ {
			rep, err := integrity.Verify(s.home, integrity.Options{})
			if err != nil {
				t.Fatalf("replay %d of the chain: %v", run, err)
			}
			if !rep.Replayed || rep.Verified == 0 || rep.Events == 0 {
				t.Fatalf("replay %d replayed nothing: %+v", run, rep)
			}
			t.Logf("replay %d: %+v", run, *rep)
			hashes = append(hashes, rep.AppHash)
		}
		if string(hashes[0]) != string(hashes[1]) {
			t.Fatalf("two replays end at app hashes %X and %X", hashes[0], hashes[1])
		}
	})
}

// TestClaimsQueryAdversarial: a claims query is answered only when signed by its requester,
// for this chain, unexpired, and once.
func TestClaimsQueryAdversarial(t *testing.T) {
	s := newClaimsStory(t)
	sign := func(q *claims.Query, k *keys.Keystore) *claims.Query { q.Sign(k.Keys.Sign); return q }
	now := func() int64 { return time.Now().Add(time.Minute).Unix() }
	fresh := func(k *keys.Keystore) *claims.Query {
		q := &claims.Query{ChainID: s.chainID, Requester: k.ID, Kind: claims.QueryList, NotAfter: now()}
		q.Nonce[0] = byte(len(k.ID))
		return q
	}
	q := sign(fresh(s.patient), s.patient)
	_, err := s.c.SubmitClaimsQuery(s.ctx, q)
	s.must(err)
	_, err = s.c.SubmitClaimsQuery(s.ctx, q)
	refused(t, "replayed query", err, http.StatusConflict, tx.Space, tx.CodeBadSequence)

	forged := sign(fresh(s.patient), s.b) // signed by someone else
	forged.Nonce[1] = 1
	forged.Sign(s.b.Keys.Sign)
	_, err = s.c.SubmitClaimsQuery(s.ctx, forged)
	refused(t, "query signed by another key", err, http.StatusUnauthorized, tx.Space, tx.CodeBadSignature)

	other := fresh(s.patient)
	other.ChainID, other.Nonce[1] = "other-chain", 2
	_, err = s.c.SubmitClaimsQuery(s.ctx, sign(other, s.patient))
	refused(t, "query for another chain", err, http.StatusBadRequest, tx.Space, tx.CodeWrongChain)

	late := fresh(s.patient)
	late.NotAfter, late.Nonce[1] = time.Now().Add(time.Hour).Unix(), 3
	_, err = s.c.SubmitClaimsQuery(s.ctx, sign(late, s.patient))
	refused(t, "query valid too long", err, http.StatusBadRequest, claims.Space, claims.CodeInvalid)

	_, err = s.c.Plan(s.ctx, s.ins.ID, "nope")
	refused(t, "unknown plan", err, http.StatusNotFound, claims.Space, claims.CodeNotFound)
	if ps, err := s.c.Plans(s.ctx, s.ins.ID); err != nil || len(ps) != 0 {
		t.Fatalf("plans of an insurer that published none: %v %v", ps, err)
	}

	tampered := sign(fresh(s.patient), s.patient)
	tampered.Kind = claims.QueryCoverage
	_, err = s.c.SubmitClaimsQuery(s.ctx, tampered)
	refused(t, "query altered after signing", err, http.StatusUnauthorized, tx.Space, tx.CodeBadSignature)
}
