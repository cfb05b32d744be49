package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/tx"
)

// TestPortalTrialConsentStory plays e-consent through the portal in two Chromium tabs
// against a real node: Dr Alice (site investigator) is refused the enrolment before the
// patient's research grant and enrols after it; after the IRB publishes consent form v2 the
// patient sees "re-consent needed" and Dr Alice's recording is refused, the patient
// re-consents through the page and the recording is accepted; the patient withdraws
// through the confirmation page and Dr Alice's next recording is refused.
func TestPortalTrialConsentStory(t *testing.T) {
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice, pat := e.ids["dr-alice"], e.ids["pat"]
	send := registerTrial(t, ctx, e)

	doc := newBrowser(t, e.base)
	doc.enrol(e, "dr-alice")
	doc.open("/portal/provider/trials")
	doc.wantCount(`tr.trial[data-trial="GLU-3"]`, 1)
	doc.open("/portal/provider/trials/GLU-3")
	doc.wantCount("tr.participant", 0)
	enrolPat := func() {
		doc.set("#enrol-patient", pat.ID)
		doc.set("#enrol-arm", "placebo")
		doc.act(click("#trial-enrol"))
	}
	// No research grant yet: the contract refuses, and the page says why.
	enrolPat()
	doc.wantText("#error", "trials/11")
	doc.wantText("#error", "must first grant you write access for research")
	doc.wantCount("tr.participant", 0)
	send("pat", &consent.GrantBody{Grant: consent.Grant{Grantee: alice.ID, Actions: []string{consent.Write}, Purposes: []string{consent.Research}}})
	enrolPat()
	doc.wantPath("/portal/provider/trials/GLU-3")
	doc.wantText("#flash", "Enrolled")
	doc.wantCount(`tr.participant[data-state="consented"]`, 1)
	record := func(value string) {
		doc.open("/portal/provider/trials/GLU-3")
		doc.set("#obs-what", "Hemoglobin A1c")
		doc.set("#obs-loinc", "4548-4")
		doc.set("#obs-value", value)
		doc.set("#obs-unit", "%")
		doc.act(click("#observe"))
	}
	record("7.1")
	doc.wantText("#flash", "Observation recorded")

	pb := newBrowser(t, e.base)
	pb.enrol(e, "pat")
	pb.open("/portal/patient/trials")
	row := `tr.trial[data-trial="GLU-3"]`
	pb.wantCount(row+`[data-state="consented"]`, 1)
	pb.wantText(row, "placebo")
	pb.wantText(row+" td.signed", strings.Repeat("cd", 32))
	pb.wantText(row+" td.signed", "general")
	pb.wantCount(row+" .reconsent-form", 0)

	// The IRB publishes v2: the patient must re-consent, and recording is refused until then.
	send("auditor", &trials.ConsentFormBody{Trial: "GLU-3", Digest: strings.Repeat("ef", 32), Categories: []string{"general", "laboratory"},
		Sign: trials.Sign{Meaning: trials.Approval, Reason: "consent v2: adds laboratory"}})
	pb.open("/portal/patient/trials")
	pb.wantCount(row+`[data-state="reconsent"]`, 1)
	pb.wantText(row+" td.state", "re-consent needed")
	pb.wantText(row+" td.signed", "version 1")
	pb.wantText(row+" td.in-force", "version 2")
	pb.wantText(row+" td.in-force", strings.Repeat("ef", 32))
	pb.wantText(row+" td.in-force", "laboratory")
	pb.shot("patient-trials-reconsent")
	record("7.0")
	doc.wantText("#error", "trials/10")
	doc.wantCount(`tr.participant[data-state="reconsent"]`, 1)
	doc.shot("investigator-trial-refused")

	pb.act(click(row + " button.reconsent"))
	pb.wantPath("/portal/patient/trials")
	pb.wantText("#flash", "version 2")
	pb.wantCount(row+`[data-state="consented"]`, 1)
	record("6.9")
	doc.wantText("#flash", "Observation recorded")

	// Withdrawal: a confirmation page with a reason; then recording is refused.
	pb.act(click(row + " a.withdraw"))
	pb.wantPath("/portal/patient/trials/GLU-3/withdraw")
	pb.set("#reason", "moving abroad")
	pb.do(click("#confirm"))
	pb.act(click("#withdraw"))
	pb.wantPath("/portal/patient/trials")
	pb.wantText("#flash", "withdrew")
	pb.wantCount(row+`[data-state="withdrawn"]`, 1)
	pb.wantText(row+" td.state", "moving abroad")
	pb.wantCount(row+" a.withdraw", 0)
	record("6.8")
	doc.wantText("#error", "trials/12")
	doc.wantCount(`tr.participant[data-state="withdrawn"]`, 1)

	tr, err := e.cl.Trial(ctx, "GLU-3")
	if err != nil || tr.Trial.Observations != 2 || tr.Trial.Withdrawn != 1 {
		t.Fatalf("trial on the ledger: %v %+v", err, tr.Trial)
	}
	// The observations are records encrypted for the patient: they open with the patient's keys.
	metas, err := e.cl.ListRecords(ctx, pat, pat.ID, consent.Treatment)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, m := range metas {
		if m.ResourceType != "Observation" {
			continue
		}
		rr, err := e.cl.ReadRecord(ctx, pat, pat.ID, m.RecordID, consent.Treatment)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			Code struct {
				Coding []struct{ Code string }
			}
			ValueQuantity struct {
				Value float64
				Unit  string
			}
		}
		if err := json.Unmarshal(rr.Plaintext, &o); err != nil || len(o.Code.Coding) != 1 || o.Code.Coding[0].Code != "4548-4" {
			t.Fatalf("observation %s: %v %s", m.RecordID, err, rr.Plaintext)
		}
		values = append(values, fmt.Sprint(o.ValueQuantity.Value, o.ValueQuantity.Unit))
	}
	slices.Sort(values)
	if !slices.Equal(values, []string{"6.9%", "7.1%"}) {
		t.Fatalf("observations on the ledger: %v", values)
	}
	pb.noProblems()
	doc.noProblems()
}

// registerTrial registers trial GLU-3 (sponsor and St Mary investigator Dr Alice, IRB the
// auditor), approves it and publishes consent form v1 (general); it returns a sender.
func registerTrial(t *testing.T, ctx context.Context, e *env) func(who string, body tx.Body) {
	t.Helper()
	alice, irb := e.ids["dr-alice"], e.ids["auditor"]
	send := func(who string, body tx.Body) {
		t.Helper()
		if _, err := e.cl.Send(ctx, e.ids[who], body); err != nil {
			t.Fatalf("%T by %s: %v", body, who, err)
		}
	}
	send("dr-alice", &trials.RegisterBody{Trial: "GLU-3", IRB: irb.ID, Sign: trials.Sign{Meaning: trials.Author, Reason: "registration"},
		Protocol: trials.Protocol{Digest: strings.Repeat("ab", 32), PlannedEnrolment: 3,
			Outcomes:          trials.Outcomes{Primary: []trials.Outcome{{Measure: "HbA1c change", TimeFrame: "26 weeks"}}},
			Arms:              []trials.Arm{{Name: "drug"}, {Name: "placebo"}},
			Sites:             []trials.Site{{Name: "St Mary", Investigator: alice.ID}},
			PrimaryCompletion: "2030-01-01",
			ResearchStudy:     []byte(`{"resourceType":"ResearchStudy","status":"active","title":"Glucose control"}`)}})
	send("auditor", &trials.ApproveBody{Trial: "GLU-3", Version: 1, Sign: trials.Sign{Meaning: trials.Approval, Reason: "full board"}})
	send("auditor", &trials.ConsentFormBody{Trial: "GLU-3", Digest: strings.Repeat("cd", 32), Categories: []string{"general"},
		Sign: trials.Sign{Meaning: trials.Approval, Reason: "consent v1"}})

	return send
}

// TestPortalTrialRefusals: what the trial pages must not let through. A withdrawal without
// the confirmation, or re-consent to a superseded form, changes nothing on the ledger; a
// provider who leads no site of the trial sees no page and cannot enrol; a provider cannot
// open the patient's trial pages.
func TestPortalTrialRefusals(t *testing.T) {
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alice, pat := e.ids["dr-alice"], e.ids["pat"]
	send := registerTrial(t, ctx, e)
	send("pat", &consent.GrantBody{Grant: consent.Grant{Grantee: alice.ID, Actions: []string{consent.Write}, Purposes: []string{consent.Research}}})
	send("dr-alice", &trials.EnrolBody{Trial: "GLU-3", Participant: pat.ID, Site: "St Mary", Arm: "drug", ConsentForm: 1})
	send("auditor", &trials.ConsentFormBody{Trial: "GLU-3", Digest: strings.Repeat("ef", 32), Categories: []string{"general"},
		Sign: trials.Sign{Meaning: trials.Approval, Reason: "consent v2"}})
	mine := func() *trials.Enrolment {
		t.Helper()
		enr, err := e.cl.As(pat).TrialEnrolments(ctx, "GLU-3", false)
		if err != nil || len(enr.Enrolments) != 1 {
			t.Fatalf("enrolments: %v", err)
		}
		return enr.Enrolments[0]
	}

	pw := newWeb(t, e.base)
	pw.enrol(e, "pat")
	pw.get("/portal/patient/trials")
	resp, body := pw.post("/portal/patient/trials/GLU-3/withdraw", url.Values{"reason": {"no box ticked"}})
	wantPage(t, resp, body, http.StatusBadRequest, "Tick the box")
	resp, body = pw.post("/portal/patient/trials/GLU-3/reconsent", url.Values{"form": {"1"}})
	wantPage(t, resp, body, http.StatusBadRequest, "trials/10")
	if m := mine(); m.Withdrawal != nil || m.ConsentForm != 1 {
		t.Fatalf("a refused action reached the ledger: %+v", m)
	}
	resp, body = pw.get("/portal/patient/trials/NO-SUCH/withdraw")
	wantPage(t, resp, body, http.StatusNotFound, "not taking part")
	resp, body = pw.get("/portal/provider/trials")
	wantPage(t, resp, body, http.StatusForbidden, "This page is for providers")

	bob := newWeb(t, e.base)
	bob.enrol(e, "dr-bob")
	resp, body = bob.get("/portal/provider/trials")
	wantPage(t, resp, body, http.StatusOK, "You are not an investigator of any trial")
	resp, body = bob.get("/portal/provider/trials/GLU-3")
	wantPage(t, resp, body, http.StatusNotFound, "not an investigator of trial GLU-3")
	resp, body = bob.post("/portal/provider/trials/GLU-3/observations", url.Values{"patient": {pat.ID}, "what": {"HbA1c"}, "value": {"7"}})
	if resp.StatusCode == http.StatusSeeOther {
		t.Fatalf("Dr Bob's observation was accepted: %.300s", body)
	}
	resp, body = bob.get("/portal/patient/trials")
	wantPage(t, resp, body, http.StatusForbidden, "This page is for patients")
	if tr, err := e.cl.Trial(ctx, "GLU-3"); err != nil || tr.Trial.Observations != 0 || tr.Trial.Enrolled != 1 {
		t.Fatalf("trial on the ledger: %v %+v", err, tr.Trial)
	}
}
