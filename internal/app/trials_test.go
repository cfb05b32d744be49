package app

import (
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// refused commits body signed by ks alone in a block and fails unless the trials codespace
// refuses it with code.
func (h *harness) refused(ks *keys.Keystore, body tx.Body, code uint32, what string) {
	h.t.Helper()
	r := h.block(h.sign(ks, body))[0]
	if r.Code != 0 {
		h.seqs[ks.ID]-- // a rejected transaction does not use its sequence
	}
	if r.Codespace != string(trials.Space) || r.Code != code {
		h.t.Fatalf("%s: got %s/%d %q, want %s/%d", what, r.Codespace, r.Code, r.Log, trials.Space, code)
	}
}

func trialProtocol(investigator string, primary ...trials.Outcome) trials.Protocol {
	return trials.Protocol{
		Digest: strings.Repeat("ab", 32),
		Outcomes: trials.Outcomes{Primary: primary,
			Secondary: []trials.Outcome{{Measure: "Body weight change", TimeFrame: "26 weeks"}}},
		PlannedEnrolment:  3,
		Arms:              []trials.Arm{{Name: "drug"}, {Name: "placebo"}},
		Sites:             []trials.Site{{Name: "St Mary", Investigator: investigator}},
		PrimaryCompletion: "2024-12-01", // results due 2025-12-01; the harness's blocks run in 2026
		ResearchStudy:     []byte(`{"resourceType":"ResearchStudy","id":"glu-3","status":"active","title":"GLU-3"}`),
	}
}

// TestTrialStory: a sponsor registers a trial, enrolment before registration and before
// approval is refused, the IRB approves, participants enrol, the sponsor switches the
// primary outcome after enrolment (flagged), results miss the registered primary outcome
// (a discrepancy), the trial is overdue until the late results are posted, and every step
// replays to the same app hash.
func TestTrialStory(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast() // c.provider is the sponsor-investigator, c.auditor the IRB
	other := newKS(t, "other-irb")
	p2, p3, outsider := newKS(t, "p2"), newKS(t, "p3"), newKS(t, "dr-out")
	h.mustOK(h.sign(h.reg, registration(other, identity.Auditor, "", "")), h.sign(h.reg, registration(outsider, identity.Provider, "Elsewhere", "MD-7")),
		h.sign(p2, registration(p2, identity.Patient, "", "")), h.sign(p3, registration(p3, identity.Patient, "", "")))
	enrol := func(p *keys.Keystore) *trials.EnrolBody {
		return &trials.EnrolBody{Trial: "GLU-3", Participant: p.ID, Site: "St Mary", Arm: "drug", ConsentForm: 1}
	}
	hba1c := trials.Outcome{Measure: "HbA1c change", TimeFrame: "26 weeks"}

	// Enrolment before registration is refused: a trial cannot be registered after its first participant.
	h.refused(c.provider, enrol(c.patient), trials.CodeNotRegistered, "enrolment before registration")

	reg := &trials.RegisterBody{Trial: "GLU-3", IRB: c.auditor.ID, Protocol: trialProtocol(c.provider.ID, hba1c),
		Sign: trials.Sign{Meaning: trials.Author, Reason: "initial registration"}}
	bad := *reg
	bad.Sign.Meaning = trials.Approval
	h.refused(c.provider, &bad, trials.CodeMeaning, "a sponsor's registration signed as an approval")
	h.refused(c.patient, reg, trials.CodeUnauthorized, "a patient registering a trial")
	bad = *reg
	bad.Protocol.ResearchStudy = []byte(`{"resourceType":"Patient","status":"active"}`)
	h.refused(c.provider, &bad, trials.CodeInvalid, "a registration whose ResearchStudy is a Patient")
	h.mustOK(h.sign(c.provider, reg))
	regHeight := h.height
	h.refused(c.provider, reg, trials.CodeDuplicate, "registering the same trial again")

	h.refused(c.provider, enrol(c.patient), trials.CodeNotApproved, "enrolment before IRB approval")
	approve := func(v uint32) *trials.ApproveBody {
		return &trials.ApproveBody{Trial: "GLU-3", Version: v, Sign: trials.Sign{Meaning: trials.Approval, Reason: "full board review"}}
	}
	h.refused(other, approve(1), trials.CodeUnauthorized, "approval by an IRB the trial does not name")
	// A review is recorded but approves nothing.
	h.mustOK(h.sign(c.auditor, &trials.ApproveBody{Trial: "GLU-3", Version: 1, Sign: trials.Sign{Meaning: trials.Review, Reason: "pre-review"}}))
	h.refused(c.provider, enrol(c.patient), trials.CodeNotApproved, "enrolment after a review without approval")
	h.mustOK(h.sign(c.auditor, approve(1)))
	h.refused(outsider, enrol(c.patient), trials.CodeUnauthorized, "enrolment by a provider who leads no site of the trial")
	// Each participant signs the IRB's consent form and grants the investigator research access.
	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "consent v1", "general")))
	h.mustOK(researchGrant(h, c.patient, c.provider.ID), researchGrant(h, p2, c.provider.ID), researchGrant(h, p3, c.provider.ID))

	h.mustOK(h.sign(c.provider, enrol(c.patient)), h.sign(c.provider, enrol(p2)))
	h.refused(c.provider, enrol(p2), trials.CodeDuplicate, "enrolling a participant twice")

	// The sponsor replaces the primary outcome after enrolment started: allowed, and flagged.
	amended := trialProtocol(c.provider.ID, trials.Outcome{Measure: "Fasting glucose", TimeFrame: "12 weeks"})
	h.refused(c.auditor, &trials.AmendBody{Trial: "GLU-3", Protocol: amended,
		Sign: trials.Sign{Meaning: trials.Author, Reason: "x"}}, trials.CodeUnauthorized, "an amendment by the IRB")
	h.mustOK(h.sign(c.provider, &trials.AmendBody{Trial: "GLU-3", Protocol: amended,
		Sign: trials.Sign{Meaning: trials.Author, Reason: "HbA1c assay unavailable"}}))
	h.refused(c.provider, enrol(p3), trials.CodeNotApproved, "enrolment under an unapproved amendment")
	h.refused(c.auditor, approve(1), trials.CodeState, "approving a superseded version")
	h.mustOK(h.sign(c.auditor, approve(2)))
	h.mustOK(h.sign(c.provider, enrol(p3)))

	r := h.st.Committed()
	tr := trials.Get(r, "GLU-3")
	vs := trials.Versions(r, tr)
	if len(vs) != 2 || vs[0].OutcomeSwitch || !vs[1].OutcomeSwitch || vs[0].Outcomes.Primary[0] != hba1c {
		t.Fatalf("versions kept: %+v", vs)
	}
	if tr.RegisteredAt != regHeight || tr.FirstEnrolment <= tr.RegisteredAt || tr.Baseline != 1 || tr.Enrolled != 3 || tr.OutcomeSwitches != 1 {
		t.Fatalf("trial head %+v", tr)
	}
	if d := trials.Decisions(r, tr); len(d) != 3 || d[0].Signature.Meaning != trials.Review || d[1].Signature.Meaning != trials.Approval || d[1].Signature.Name != "dan" || d[2].Version != 2 {
		t.Fatalf("IRB decisions %+v", d)
	}

	// Past primary completion + 12 months (block time) without results: overdue.
	now := h.blocks[len(h.blocks)-1].time
	if !trials.Overdue(tr, now) || trials.Overdue(tr, time.Date(2025, 11, 30, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("overdue at %s: %v; the deadline is 2025-12-01", now, trials.Overdue(tr, now))
	}

	// Results report the switched outcome as primary: the registered primary is missing and
	// the reported one was never pre-specified before enrolment.
	h.mustOK(h.sign(c.provider, &trials.ResultsBody{Trial: "GLU-3", Dataset: strings.Repeat("cd", 32),
		Outcomes: []trials.Reported{
			{Measure: "Fasting glucose", TimeFrame: "12 weeks", Primary: true, Result: "-1.2 mmol/L"},
			{Measure: "Body weight change", TimeFrame: "26 weeks", Result: "-2.1 kg"}},
		Sign: trials.Sign{Meaning: trials.Author, Reason: "final analysis"}}))
	r = h.st.Committed()
	tr = trials.Get(r, "GLU-3")
	ps := trials.Postings(r, tr)
	if len(ps) != 1 || ps[0].ComparedWith != 1 || !ps[0].Late || ps[0].DatasetExport != 0 || len(ps[0].Discrepancies) != 2 ||
		ps[0].Discrepancies[0].Kind != trials.MissingPrimary || ps[0].Discrepancies[1].Kind != trials.NotPrespecified {
		t.Fatalf("posting %+v", ps)
	}
	if trials.Overdue(tr, h.blocks[len(h.blocks)-1].time) {
		t.Fatal("still overdue after results were posted")
	}

	// The audit log tells the story in order.
	var actions []string
	for _, ev := range auditEvents(t, h) {
		if strings.HasPrefix(ev.Action, "trial.") {
			actions = append(actions, ev.Action)
			if ev.Action == trials.ActionAmend && !strings.Contains(ev.Reason, "outcome switch") {
				t.Fatalf("amendment event hides the outcome switch: %q", ev.Reason)
			}
		}
	}
	want := "trial.register trial.irb trial.irb trial.consent_form trial.enrol trial.enrol trial.amend trial.irb trial.enrol trial.results"
	if got := strings.Join(actions, " "); got != want {
		t.Fatalf("audit actions:\n%s\nwant\n%s", got, want)
	}
	replayHashes(t, h)
}

func auditEvents(t *testing.T, h *harness) []*audit.Event {
	t.Helper()
	v := h.st.Committed()
	var out []*audit.Event
	for i := uint64(0); i < v.LogSize(); i++ {
		leaf, err := v.Leaf(i)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := audit.Decode(leaf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}
