package trials_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ehrchain/ehrchain/internal/browsertest"
	"github.com/ehrchain/ehrchain/internal/fhir"
	"github.com/ehrchain/ehrchain/internal/trials"
)

// sampleReport is a trial with every kind of timeline event: registered, reviewed and
// approved, two consent forms, three enrolments, a re-consent and a withdrawal, an
// amendment switching the primary outcome, an export, late results with a switched
// primary outcome and the deadline.
func sampleReport() *trials.Report {
	t0 := time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)
	sig := func(h int64) trials.Signature {
		return trials.Signature{Signer: "s", Height: h, Time: t0.AddDate(0, 0, int(h)), Tx: strings.Repeat("a", 63) + string(rune('0'+h%10)), Reason: "r"}
	}
	hba1c, weight := trials.Outcome{Measure: "HbA1c change", TimeFrame: "26 weeks"}, trials.Outcome{Measure: "Body weight", TimeFrame: "26 weeks"}
	p := trials.Protocol{Outcomes: trials.Outcomes{Primary: []trials.Outcome{hba1c}, Secondary: []trials.Outcome{weight}}, PlannedEnrolment: 3,
		PrimaryCompletion: "2024-12-01", ResearchStudy: []byte(`{"resourceType":"ResearchStudy","id":"glu-3","status":"active","title":"GLU-3 <phase 3>"}`)}
	p2 := p
	p2.Outcomes.Primary = []trials.Outcome{{Measure: "Fasting glucose", TimeFrame: "12 weeks"}}
	f := &trials.ReportFacts{
		Trial: &trials.Trial{ID: "GLU-3", Sponsor: "sp", IRB: "irb", Head: 2, Approved: 2, Decisions: 3, PrimaryCompletion: "2024-12-01",
			RegisteredAt: 1, RegisteredTime: t0.AddDate(0, 0, 1), Enrolled: 3, FirstEnrolment: 5, Baseline: 1, ConsentForm: 2, Withdrawn: 1,
			Observations: 4, Exports: 1, Results: 1},
		Versions: []*trials.Version{{Number: 1, Protocol: p, Signature: sig(1)},
			{Number: 2, Protocol: p2, Signature: sig(20), Changes: []string{"outcomes.primary"}, OutcomeSwitch: true}},
		Decisions: []*trials.Decision{{Number: 1, Version: 1, Signature: sig(2)}, {Number: 2, Version: 1, Signature: sig(3)}, {Number: 3, Version: 2, Signature: sig(21)}},
		ConsentForms: []*trials.ConsentForm{{Number: 1, Categories: []string{"general"}, Signature: sig(4)},
			{Number: 2, Categories: []string{"general"}, Signature: sig(8)}},
		Exports: []*trials.Export{{Number: 1, AsOf: 300, Digest: strings.Repeat("d", 64), Participants: 2, Records: 4, Signature: sig(310)}},
		Postings: []*trials.Posting{{Number: 1, ComparedWith: 1, Dataset: strings.Repeat("d", 64), Signature: sig(500),
			Outcomes: []trials.Reported{{Measure: "HbA1c change", TimeFrame: "26 weeks", Result: "x"}, {Measure: "Body weight", TimeFrame: "26 weeks", Primary: true, Result: "y"}}}},
	}
	f.Decisions[0].Signature.Meaning = trials.Review
	f.Decisions[1].Signature.Meaning, f.Decisions[2].Signature.Meaning = trials.Approval, trials.Approval
	day := func(n int) time.Time { return t0.AddDate(0, 0, n) }
	act := trials.Activity{Enrolments: []trials.Mark{{Height: 5, Time: day(5), Form: 1}, {Height: 6, Time: day(6), Form: 1}, {Height: 7, Time: day(7), Form: 1}},
		Reconsents: []trials.Mark{{Height: 9, Time: day(9), Form: 2}}, Withdrawals: []trials.Mark{{Height: 10, Time: day(10)}}}
	return trials.BuildReport(f, act, 600, day(600))
}

// TestReportFHIRValidates: the FHIR form is a Bundle that the gateway's R4 validator
// accepts, holding the ResearchStudy as registered and a Composition with a section per
// finding.
func TestReportFHIRValidates(t *testing.T) {
	r := sampleReport()
	raw, err := trials.FHIRBundle(r)
	if err != nil {
		t.Fatal(err)
	}
	o, err := fhir.Validate(raw)
	if err != nil {
		t.Fatalf("the report bundle is not valid R4: %v\n%s", err, raw)
	}
	entries, _ := o["entry"].([]any)
	if o["resourceType"] != "Bundle" || len(entries) != 2 {
		t.Fatalf("bundle %v", o)
	}
	study := entries[0].(map[string]any)["resource"].(map[string]any)
	comp := entries[1].(map[string]any)["resource"].(map[string]any)
	if study["resourceType"] != "ResearchStudy" || study["title"] != "GLU-3 <phase 3>" || comp["resourceType"] != "Composition" {
		t.Fatalf("entries %v", entries)
	}
	if s, _ := comp["section"].([]any); len(s) != len(r.Findings) {
		t.Fatalf("%d sections for %d findings", len(s), len(r.Findings))
	}
	if !bytes.Contains(raw, []byte("primary_demoted")) {
		t.Fatal("the switched primary outcome is not in the bundle")
	}
}

// pageStats is what the report page holds once laid out.
type pageStats struct {
	Marks      int      `json:"marks"`      // circle.event in the timeline
	Drawn      int      `json:"drawn"`      // of them, laid out with an area
	Kinds      []string `json:"kinds"`      // their data-kind, in document order
	Deadline   int      `json:"deadline"`   // the deadline line
	Width      float64  `json:"width"`      // rendered width of the chart
	Findings   int      `json:"findings"`   // rows of the findings table
	Violations int      `json:"violations"` // of them, violations
	Title      string   `json:"title"`
}

const pageJS = `(() => {
	const svg = document.getElementById('timeline');
	const marks = [...svg.querySelectorAll('circle.event')];
	return {marks: marks.length, drawn: marks.filter(c => { const b = c.getBBox(); return b.width > 0 && b.height > 0; }).length,
		kinds: marks.map(c => c.dataset.kind), deadline: svg.querySelectorAll('line[data-kind=deadline]').length,
		width: svg.getBoundingClientRect().width,
		findings: document.querySelectorAll('#findings tr.finding').length,
		violations: document.querySelectorAll('#findings tr.finding[data-status=violation]').length,
		title: document.querySelector('h1').textContent};
})()`

// TestReportHTMLRendersInChromium opens the HTML report in headless Chromium: no console
// errors, a timeline marker for every event (the deadline a line), the findings table.
func TestReportHTMLRendersInChromium(t *testing.T) {
	r := sampleReport()
	var page bytes.Buffer
	if err := trials.WriteHTML(&page, r, strings.Repeat("AB", 32), 9); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, page.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	b := browsertest.Start(t, browsertest.Options{ConsoleErrors: true})
	if err := chromedp.Do(b.Ctx, chromedp.Navigate("file://"+path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	s, err := chromedp.Run(b.Ctx, chromedp.Evaluate[pageStats](pageJS))
	if err != nil {
		t.Fatal(err)
	}
	if p := b.Problems(); len(p) > 0 {
		t.Fatalf("the page reported problems: %q", p)
	}
	events := len(r.Timeline) - 1 // the deadline is a line
	if s.Marks != events || s.Drawn != events || s.Deadline != 1 || s.Width < 300 {
		t.Fatalf("timeline: %+v, want %d markers and the deadline", s, events)
	}
	for _, k := range []string{"registration", "approval", "review", "amendment", "consent_form", "enrolment", "reconsent", "withdrawal", "export", "results"} {
		if !strings.Contains(strings.Join(s.Kinds, " "), k) {
			t.Errorf("no %s on the timeline: %q", k, s.Kinds)
		}
	}
	if s.Findings != len(r.Findings) || s.Violations != r.Violations || r.Violations < 3 || !strings.Contains(s.Title, "GLU-3 <phase 3>") {
		t.Fatalf("findings table: %+v, report has %d findings, %d violations", s, len(r.Findings), r.Violations)
	}
}
