package auditreport_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditreport"
	"github.com/ehrchain/ehrchain/internal/browsertest"
	"github.com/ehrchain/ehrchain/internal/consent"
)

// browser is a headless Chromium that counts console errors as problems: a report page
// logs none.
type browser struct{ *browsertest.Browser }

func newBrowser(t *testing.T) *browser {
	t.Helper()
	return &browser{browsertest.Start(t, browsertest.Options{ConsoleErrors: true})}
}

// open loads a file and returns the problems it reported. The page has loaded (load event)
// when Navigate returns, and every report page is static: nothing happens after that.
func (b *browser) open(t *testing.T, path string) []string {
	t.Helper()
	b.Reset()
	if err := chromedp.Do(b.Ctx, chromedp.Navigate("file://"+path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	// One more round trip, so events the page emitted while loading have been delivered.
	ready, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.readyState`))
	if err != nil || ready != "complete" {
		t.Fatalf("%s: ready state %q, %v", path, ready, err)
	}
	return b.Problems()
}

// chartStats is what the page's charts hold once laid out.
type chartStats struct {
	Bars      int     `json:"bars"`      // rect.bar elements
	Drawn     int     `json:"drawn"`     // of them, with a laid-out area > 0
	Width     float64 `json:"width"`     // rendered width of the chart
	Labels    int     `json:"labels"`    // text elements
	Anomalies int     `json:"anomalies"` // anomaly table rows
}

const chartJS = `(id) => {
	const svg = document.getElementById(id);
	if (!svg || svg.tagName.toLowerCase() !== 'svg') return {bars: 0, drawn: 0, width: 0, labels: 0, anomalies: 0};
	const bars = [...svg.querySelectorAll('rect.bar')];
	const drawn = bars.filter(r => { const b = r.getBBox(); return b.width > 0 && b.height > 0; });
	return {bars: bars.length, drawn: drawn.length, width: svg.getBoundingClientRect().width,
		labels: svg.querySelectorAll('text').length, anomalies: document.querySelectorAll('#anomalies tr.anomaly').length};
}`

func (b *browser) chart(t *testing.T, id string) chartStats {
	t.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Evaluate[chartStats](fmt.Sprintf("(%s)(%q)", chartJS, id)))
	if err != nil {
		t.Fatalf("inspect %s: %v", id, err)
	}
	return s
}

// TestHTMLReportRendersInChromium opens the compliance report and the accounting of
// disclosures in headless Chromium: no console errors or exceptions, and every chart is
// drawn with bars.
func TestHTMLReportRendersInChromium(t *testing.T) {
	l := clinicLog()
	night := time.Date(2025, 3, 8, 23, 0, 0, 0, time.UTC)
	for i := range 8 {
		l.add(night.Add(time.Duration(i)*time.Minute), read(drB, pat, "r-1", consent.Emergency, audit.Denied, "no consent covers this access"))
	}
	dir := t.TempDir()
	comp := filepath.Join(dir, "compliance.html")
	acct := filepath.Join(dir, "accounting.html")
	write := func(path string, w func(*os.File) error) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := w(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	c := auditreport.ComplianceReport(l.evs, time.Time{}, time.Time{}, auditreport.DefaultRules())
	c.SetNames(map[string]string{drA: "Dr A", drB: "Dr B", pat: "Pat"})
	write(comp, func(f *os.File) error { return c.WriteHTML(f) })
	a := auditreport.AccountingOfDisclosures(l.evs, pat, time.Time{}, time.Time{})
	write(acct, func(f *os.File) error { return a.WriteHTML(f) })

	b := newBrowser(t)

	// The listener does catch a broken page; otherwise "no problems" below would prove nothing.
	probe := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(probe, []byte(`<!DOCTYPE html><title>probe</title><script>console.error("probe-error"); undefinedFunction();</script>`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.open(t, probe), "\n"); !strings.Contains(got, "probe-error") || !strings.Contains(got, "undefinedFunction") {
		t.Fatalf("the browser listener missed a console error and an exception: %q", got)
	}

	if p := b.open(t, comp); len(p) > 0 {
		t.Fatalf("compliance report: %s", strings.Join(p, "\n"))
	}
	for _, id := range []string{"chart-activity-over-time", "chart-activity-by-actor", "chart-anomalies"} {
		s := b.chart(t, id)
		if s.Bars == 0 || s.Drawn != s.Bars || s.Width <= 0 || s.Labels == 0 {
			t.Errorf("%s: %+v", id, s)
		}
	}
	if s := b.chart(t, "chart-anomalies"); s.Anomalies != len(c.Anomalies) || s.Anomalies == 0 {
		t.Errorf("anomaly table rows %d, want %d", s.Anomalies, len(c.Anomalies))
	}

	if p := b.open(t, acct); len(p) > 0 {
		t.Fatalf("accounting of disclosures: %s", strings.Join(p, "\n"))
	}
	if s := b.chart(t, "chart-disclosures-by-recipient"); s.Bars != 2 || s.Drawn != 2 {
		t.Errorf("disclosures chart: %+v", s)
	}
}
