package portal_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ehrchain/ehrchain/internal/consent"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/tx"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// TestPortalTrialReports: the auditor's clinical-trials page lists each trial with the
// violations its report finds, and downloads the report, verified against the node's app
// hash, as HTML (with the timeline), FHIR and JSON with its proofs.
func TestPortalTrialReports(t *testing.T) {
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alice, irb, pat := e.ids["dr-alice"], e.ids["auditor"], e.ids["pat"]
	for _, s := range []struct {
		who  string
		body tx.Body
	}{
		{"dr-alice", &trials.RegisterBody{Trial: "GLU-3", IRB: irb.ID, Sign: trials.Sign{Meaning: trials.Author, Reason: "registration"},
			Protocol: trials.Protocol{Digest: strings.Repeat("ab", 32), PlannedEnrolment: 3,
				Outcomes:          trials.Outcomes{Primary: []trials.Outcome{{Measure: "HbA1c change", TimeFrame: "26 weeks"}}},
				Arms:              []trials.Arm{{Name: "drug"}},
				Sites:             []trials.Site{{Name: "St Mary", Investigator: alice.ID}},
				PrimaryCompletion: "2020-01-01",
				ResearchStudy:     []byte(`{"resourceType":"ResearchStudy","status":"active","title":"GLU-3"}`)}}},
		{"auditor", &trials.ApproveBody{Trial: "GLU-3", Version: 1, Sign: trials.Sign{Meaning: trials.Approval, Reason: "full board"}}},
		{"auditor", &trials.ConsentFormBody{Trial: "GLU-3", Digest: strings.Repeat("cd", 32), Categories: []string{"general"},
			Sign: trials.Sign{Meaning: trials.Approval, Reason: "consent v1"}}},
		{"pat", &consent.GrantBody{Grant: consent.Grant{Grantee: alice.ID, Actions: []string{consent.Write}, Purposes: []string{consent.Research}}}},
		{"dr-alice", &trials.EnrolBody{Trial: "GLU-3", Participant: pat.ID, Site: "St Mary", Arm: "drug", ConsentForm: 1}},
		{"dr-alice", &trials.ResultsBody{Trial: "GLU-3", Sign: trials.Sign{Meaning: trials.Author, Reason: "results"}, Outcomes: []trials.Reported{
			{Measure: "HbA1c change", TimeFrame: "26 weeks", Primary: true, Result: "-0.4%"},
			{Measure: "Fasting glucose", TimeFrame: "12 weeks", Result: "-1.1 mmol/l"}}}},
	} {
		if _, err := e.cl.Send(ctx, e.ids[s.who], s.body); err != nil {
			t.Fatalf("%T by %s: %v", s.body, s.who, err)
		}
	}

	b := newBrowser(t, e.base)
	b.enrol(e, "auditor")
	b.open("/portal/auditor/trials")
	b.wantCount("tr.trial", 1)
	// Late results (2020 primary completion) and an outcome not pre-specified.
	if v := b.text(`tr.trial[data-trial="GLU-3"] td.violations`); v != "2" {
		t.Fatalf("violations shown %q, want 2", v)
	}
	b.noProblems()
	get := func(format string) string {
		return eval[string](b, `fetch('/portal/auditor/trials/GLU-3/report?format=`+format+`').then(r => r.ok ? r.text() : 'HTTP ' + r.status)`, chromedp.EvalAwaitPromise)
	}
	page := get("html")
	for _, want := range []string{`<svg id="timeline"`, "Verified:", `data-rule="reported_outcomes" data-status="violation"`, "results posted late"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the HTML report has no %q:\n%.2000s", want, page)
		}
	}
	if strings.Contains(page, pat.ID) {
		t.Fatal("the HTML report names the participant")
	}
	if f := get("fhir"); !strings.Contains(f, `"resourceType": "Bundle"`) || !strings.Contains(f, `"resourceType": "Composition"`) {
		t.Fatalf("FHIR report:\n%.1000s", f)
	}
	var rep wire.TrialReport
	if err := json.Unmarshal([]byte(get("json")), &rep); err != nil || len(rep.Values) == 0 || rep.Report.Violations != 2 {
		t.Fatalf("JSON report: %v, %d values", err, len(rep.Values))
	}
	if got := get("pdf"); got != "HTTP 400" {
		t.Fatalf("format pdf: %q", got)
	}
}
