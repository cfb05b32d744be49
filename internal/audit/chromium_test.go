package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/consent"
)

// browserPath is where CI installs Chromium (.ci/run). The test fails, never skips, when it
// is missing: the issue requires the page to be opened in a real browser.
const browserPath = "/usr/bin/chromium"

// browser collects what a page reports as broken: console errors, uncaught exceptions and
// error log entries (failed loads, blocked content).
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(browserPath); err != nil {
		t.Fatalf("headless Chromium is required at %s (apt-get install chromium): %v", browserPath, err)
	}
	// A bound so a wedged browser fails the test instead of hanging it; nothing is timed.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browserPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancel() })
	b := &browser{ctx: bctx}
	err := chromedp.Listen(bctx, func(ev any) { // starts the browser and its first tab
		var p string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value))
				}
				p = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			p = fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, d.Text)
			if d.Exception != nil {
				p += " " + d.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				p = fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if p != "" {
			b.mu.Lock()
			b.problems = append(b.problems, p)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("start %s: %v", browserPath, err)
	}
	return b
}

// open loads a file and returns the problems it reported. The page has loaded (load event)
// when Navigate returns, and every report page is static: nothing happens after that.
func (b *browser) open(t *testing.T, path string) []string {
	t.Helper()
	b.mu.Lock()
	b.problems = nil
	b.mu.Unlock()
	if err := chromedp.Do(b.ctx, chromedp.Navigate("file://"+path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	// One more round trip, so events the page emitted while loading have been delivered.
	ready, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.readyState`))
	if err != nil || ready != "complete" {
		t.Fatalf("%s: ready state %q, %v", path, ready, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
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
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[chartStats](fmt.Sprintf("(%s)(%q)", chartJS, id)))
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
	c := audit.ComplianceReport(l.evs, time.Time{}, time.Time{}, audit.DefaultRules())
	c.SetNames(map[string]string{drA: "Dr A", drB: "Dr B", pat: "Pat"})
	write(comp, func(f *os.File) error { return c.WriteHTML(f) })
	a := audit.AccountingOfDisclosures(l.evs, pat, time.Time{}, time.Time{})
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
