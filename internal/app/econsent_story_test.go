package app

import (
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/identity"
	"github.com/ehrchain/ehrchain/internal/keys"
	"github.com/ehrchain/ehrchain/internal/trials"
)

// TestTrialConsentStory is a trial's e-consent story: the sponsor registers, the IRB
// approves the protocol and consent form v1, three patients consent and are enrolled, the
// IRB approves consent form v2, a participant who has not re-consented cannot have data
// recorded, re-consents and then can, another withdraws and then cannot, the sponsor
// exports the dataset consent allows and posts results with its digest. The audit trail
// tells the story in order and every block replays, twice, to the same app hash at every height.
func TestTrialConsentStory(t *testing.T) {
	h := newHarness(t)
	c := h.registerCast() // dr-alice investigates at St Mary, dan is the IRB
	sponsor := newKS(t, "acme-research")
	h.mustOK(h.sign(h.reg, registration(sponsor, identity.Provider, "Acme Research", "SP-1")))
	ann, bob, cy := c.patient, newKS(t, "bob"), newKS(t, "cy")
	h.mustOK(h.sign(bob, registration(bob, identity.Patient, "", "")), h.sign(cy, registration(cy, identity.Patient, "", "")))
	cks := map[string]map[string]consent.CategoryKey{}
	for _, p := range []*keys.Keystore{ann, bob, cy} {
		cks[p.ID] = publishKeys(h, p, "general", "genetic")
	}
	record := func(p *keys.Keystore, id string) *trials.ObserveBody {
		return observation(h, c.provider, p.ID, cks[p.ID]["general"], id, "HbA1c 6.9% for "+id)
	}

	// Register; the IRB approves the protocol and consent form v1.
	registeredTrialBy(h, sponsor, c.provider, c.auditor)
	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "Informed consent v1", "general")))

	// Three patients sign v1, grant the investigator research writes and the sponsor research
	// reads of their general records, and are enrolled.
	for _, p := range []*keys.Keystore{ann, bob, cy} {
		h.mustOK(researchGrant(h, p, c.provider.ID, "general"), sponsorReadGrant(h, p, sponsor.ID, "general"))
		h.mustOK(h.sign(c.provider, &trials.EnrolBody{Trial: "GLU-3", Participant: p.ID, Site: "St Mary", Arm: "drug", ConsentForm: 1}))
	}
	h.mustOK(h.sign(c.provider, record(ann, "ann-week-0")), h.sign(c.provider, record(bob, "bob-week-0")), h.sign(c.provider, record(cy, "cy-week-0")))

	// The IRB approves consent form v2; until a participant signs it, no data is recorded for them.
	h.mustOK(h.sign(c.auditor, consentForm("GLU-3", "Informed consent v2: new risk information", "general")))
	h.refused(c.provider, record(ann, "ann-week-4"), trials.CodeStaleConsent, "data for a participant who has not re-consented")
	h.mustOK(h.sign(ann, &trials.ReconsentBody{Trial: "GLU-3", ConsentForm: 2}))
	h.mustOK(h.sign(c.provider, record(ann, "ann-week-4")))

	// Bob re-consents, then withdraws: nothing is recorded for him afterwards.
	h.mustOK(h.sign(bob, &trials.ReconsentBody{Trial: "GLU-3", ConsentForm: 2}))
	h.mustOK(h.sign(bob, &trials.WithdrawBody{Trial: "GLU-3", Reason: "no longer wishes to take part"}))
	h.refused(c.provider, record(bob, "bob-week-4"), trials.CodeWithdrawn, "data after withdrawal")

	// The sponsor exports the dataset: ann's two records and cy's week-0 record (taken under
	// v1, which was in force then; she did not withdraw, so it stays usable); nothing of bob's.
	d, file := sponsorDataset(h, sponsor.ID)
	if d.Participants != 2 || d.Records != 3 {
		t.Fatalf("dataset: %d participants, %d records; want 2 (ann, cy) and 3", d.Participants, d.Records)
	}
	h.mustOK(h.sign(sponsor, exportOf(d, file)))

	// Results are posted with the exported dataset's digest.
	h.mustOK(h.sign(sponsor, &trials.ResultsBody{Trial: "GLU-3", Dataset: trials.DatasetDigest(file),
		Outcomes: []trials.Reported{
			{Measure: "HbA1c change", TimeFrame: "26 weeks", Primary: true, Result: "-0.9 %"},
			{Measure: "Body weight change", TimeFrame: "26 weeks", Result: "-1.4 kg"}},
		Sign: trials.Sign{Meaning: trials.Author, Reason: "final analysis"}}))

	r := h.st.Committed()
	tr := trials.Get(r, "GLU-3")
	if tr.Enrolled != 3 || tr.Withdrawn != 1 || tr.ConsentForm != 2 || tr.Observations != 4 || tr.Exports != 1 || tr.Results != 1 {
		t.Fatalf("trial head %+v", tr)
	}
	if p := trials.Postings(r, tr)[0]; p.Dataset != trials.Exports(r, tr)[0].Digest || p.DatasetExport != 1 || len(p.Discrepancies) != 0 {
		t.Fatalf("posting %+v", p)
	}
	var actions []string
	for _, ev := range auditEvents(t, h) {
		if strings.HasPrefix(ev.Action, "trial.") {
			actions = append(actions, strings.TrimPrefix(ev.Action, "trial."))
		}
		if ev.Action == trials.ActionResults && !strings.Contains(ev.Reason, "the analysis dataset is export 1") {
			t.Fatalf("the results event does not name the export its dataset is: %q", ev.Reason)
		}
	}
	want := "register irb consent_form enrol enrol enrol record record record consent_form reconsent record reconsent withdraw export results"
	if got := strings.Join(actions, " "); got != want {
		t.Fatalf("audit trail:\n%s\nwant\n%s", got, want)
	}

	// The transparency report shows all of it: registration and approval before the first
	// enrolment, results as pre-specified but late (primary completion 2024-12-01, posted
	// in 2026) from the exported dataset, consent forms and withdrawal enforced, the
	// re-consents to v2 and every act on the timeline.
	facts, err := trials.LoadReportFacts(r, "GLU-3")
	if err != nil {
		t.Fatal(err)
	}
	var es []*trials.Enrolment
	r.Iterate(trials.EnrolPrefix("GLU-3"), func(k, _ []byte) bool {
		es = append(es, trials.GetEnrolment(r, "GLU-3", strings.TrimPrefix(string(k), string(trials.EnrolPrefix("GLU-3")))))
		return true
	})
	act := trials.ActivityOf(es)
	if err := act.Consistent(tr); err != nil {
		t.Fatal(err)
	}
	rep := trials.BuildReport(facts, act, r.Height(), h.blocks[len(h.blocks)-1].time)
	var findings []string
	for _, f := range rep.Findings {
		findings = append(findings, f.Rule+" "+f.Status+" "+f.Kind)
	}
	wantFindings := "registered_before_enrolment ok ,approved_before_enrolment ok ,reported_outcomes ok ,analysis_dataset ok ,results_due violation late," +
		"consent_version enforced ,data_after_withdrawal enforced "
	if got := strings.Join(findings, ","); got != wantFindings {
		t.Fatalf("report findings:\n%s\nwant\n%s", got, wantFindings)
	}
	if f := rep.Findings[len(rep.Findings)-1]; !strings.Contains(f.Detail, "1 of 3 participants withdrew; 4 observations recorded") {
		t.Fatalf("withdrawal finding: %s", f.Detail)
	}
	if len(rep.Forms) != 2 || rep.Forms[0].Enrolled != 3 || rep.Forms[1].Reconsents != 2 {
		t.Fatalf("consent form counts %+v", rep.Forms)
	}
	var kinds []string
	for _, e := range rep.Timeline {
		kinds = append(kinds, e.Kind)
	}
	wantKinds := "deadline registration approval consent_form enrolment enrolment enrolment consent_form reconsent reconsent withdrawal export results"
	if got := strings.Join(kinds, " "); got != wantKinds {
		t.Fatalf("timeline:\n%s\nwant\n%s", got, wantKinds)
	}
	replayTwice(t, h)
}
