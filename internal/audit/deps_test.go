package audit_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestHandlersDoNotImportReports: the domain handlers write audit events, so they import
// this package; they must not pull in what an auditor does with the events (reports,
// anomaly rules, the HTML template engine) or the trial report's page, and neither may the
// wire bodies clients share. The check asks the go tool for the packages' full dependency
// lists, as a reviewer would.
func TestHandlersDoNotImportReports(t *testing.T) {
	const mod = "github.com/ehrchain/ehrchain/internal/"
	handlers := []string{"audit", "identity", "consent", "records", "claims", "emergency", "erasure",
		"supply", "trials", "validators", "access", "tx", "wire"}
	forbidden := []string{mod + "auditreport", mod + "trials/trialpage", "html/template", "text/template"}
	for _, p := range handlers {
		deps := goListDeps(t, "../"+p)
		for _, f := range forbidden {
			if slices.Contains(deps, f) {
				t.Errorf("internal/%s depends on %s", p, f)
			}
		}
	}
	// The check itself must see what it looks for: the reports do depend on both.
	deps := goListDeps(t, "../auditreport")
	if !slices.Contains(deps, mod+"audit") || !slices.Contains(deps, "html/template") {
		t.Fatalf("go list -deps of auditreport lacks audit or html/template: %v", deps)
	}
}

func goListDeps(t *testing.T, dir string) []string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goTool); err != nil {
		goTool = "go"
	}
	out, err := exec.Command(goTool, "list", "-deps", dir).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", dir, err)
	}
	return strings.Fields(string(out))
}
