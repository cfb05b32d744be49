package trialpage_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ehrchain/ehrchain/internal/browsertest"
	"github.com/ehrchain/ehrchain/internal/trials/trialpage"
	"github.com/ehrchain/ehrchain/internal/trials/trialstest"
)

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
	r := trialstest.SampleReport()
	var page bytes.Buffer
	if err := trialpage.WriteHTML(&page, r, strings.Repeat("AB", 32), 9); err != nil {
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
