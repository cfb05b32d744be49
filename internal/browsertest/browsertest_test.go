package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestProblemsAreCaught opens a page that throws and logs an error, so a test relying on
// Problems would notice a broken page.
func TestProblemsAreCaught(t *testing.T) {
	page := filepath.Join(t.TempDir(), "broken.html")
	html := `<!doctype html><body><script>console.error("visible"); throw new Error("boom")</script></body>`
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	b := Start(t, Options{ConsoleErrors: true})
	if err := chromedp.Do(b.Ctx, chromedp.Navigate("file://"+page)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.readyState`)); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(b.Problems(), "\n")
	if !strings.Contains(got, "boom") || !strings.Contains(got, "console.error") {
		t.Fatalf("problems %q: want the exception and the console error", got)
	}
	b.Reset()
	if p := b.Problems(); len(p) != 0 {
		t.Fatalf("after Reset: %v", p)
	}
}
