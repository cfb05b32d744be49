// Package browsertest starts headless Debian Chromium for tests, with the flags a closed
// hospital network needs, and collects what the pages report as broken. Tests fail, never
// skip, when Chromium is missing: the web views must be checked in a real browser.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Path is where CI installs Chromium (.ci/run: apt-get install chromium).
const Path = "/usr/bin/chromium"

// Options tune what a test's browser counts as a problem.
type Options struct {
	// Timeout bounds the whole browser so a wedged one fails the test instead of hanging
	// it; nothing is timed. Default 3 minutes.
	Timeout time.Duration
	// ConsoleErrors counts console.error and console.assert calls as problems.
	ConsoleErrors bool
	// IgnoreNetworkLog leaves out network errors, for tests that load refused pages on
	// purpose.
	IgnoreNetworkLog bool
	// Extra allocator options, such as a window size.
	Extra []chromedp.ExecAllocatorOption
}

// Browser is one running Chromium with its first tab.
type Browser struct {
	Ctx context.Context

	mu       sync.Mutex
	problems []string
}

// Start launches Chromium for t with a fresh profile and stops it when t ends. Uncaught
// exceptions and error log entries (failed loads, blocked content such as CSP violations)
// are recorded as problems.
func Start(t testing.TB, o Options) *Browser {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		t.Fatalf("headless Chromium is required at %s (apt-get install chromium): %v", Path, err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	// Without the background-networking flags Chromium floods a closed network with
	// refused connections.
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}, o.Extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancel() })
	b := &Browser{Ctx: bctx}
	err := chromedp.Listen(bctx, func(ev any) { // starts the browser and its first tab
		if p := o.problem(ev); p != "" {
			b.mu.Lock()
			b.problems = append(b.problems, p)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("start %s: %v", Path, err)
	}
	if _, err := chromedp.Call(bctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	return b
}

// problem describes ev if it reports something broken.
func (o Options) problem(ev any) string {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if o.ConsoleErrors && (ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert) {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			return fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		p := fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, d.Text)
		if d.Exception != nil {
			p += " " + d.Exception.Description
		}
		return p
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError && !(o.IgnoreNetworkLog && ev.Entry.Source == cdplog.EntrySourceNetwork) {
			return fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	}
	return ""
}

// Problems returns what the pages reported since the last Reset.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Reset forgets the problems reported so far.
func (b *Browser) Reset() {
	b.mu.Lock()
	b.problems = nil
	b.mu.Unlock()
}
