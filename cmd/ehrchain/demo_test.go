package main

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/demo"
)

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestDemoPrintsPortal runs `ehrchain demo` and follows what it prints: the portal address
// answers, and a demo identity signs in there with the printed passphrase (reaching the
// second-factor enrolment of a first sign-in).
func TestDemoPrintsPortal(t *testing.T) {
	api := freePort(t)
	dir := filepath.Join(t.TempDir(), "demo")
	cmd := exec.Command(binary, "demo", "--dir", dir, "--api", api, "--data", filepath.Join("..", "..", "..", "shared", "data", "synthea-r4"))
	cmd.Env = append(os.Environ(), "EHRCHAIN_PASSPHRASE=")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
		}
	})
	re := regexp.MustCompile(`Or open the web portal: (\S+)`)
	var portalURL string
	for deadline := time.Now().Add(3 * time.Minute); portalURL == ""; time.Sleep(200 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "/auth/login\n") {
			portalURL = m[1]
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("demo exited: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo printed no portal address:\n%s", out)
		}
	}
	if want := "http://localhost:" + api[strings.LastIndexByte(api, ':')+1:] + "/portal/"; portalURL != want {
		t.Errorf("portal address %q, want %q", portalURL, want)
	}
	m := regexp.MustCompile(`(?m)^\s+patient\s+patient\s+(\S+)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no sign-in details for the patient:\n%s", out)
	}
	for _, who := range []string{"dr-alice", "dr-bob", "auditor"} {
		if !strings.Contains(out.String(), "  "+who+" ") {
			t.Errorf("no sign-in details for %s", who)
		}
	}
	// The import classified a sensitive record, and a general grant did not open it.
	if !regexp.MustCompile(`sensitive categories: the import put \S+ \w+ in mental-health`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "Dr Bob reads a general Encounter") || !strings.Contains(out.String(), "is denied, and the denial is on the ledger") {
		t.Errorf("the demo did not show a sensitive category at work:\n%s", out)
	}
	checkTrialChapter(t, out.String())
	checkSupplyChapter(t, out.String())
	noFollow := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(portalURL+"signin", url.Values{"name": {"patient"}, "passphrase": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/portal/enrol" {
		t.Fatalf("sign-in with the printed details: %d to %q", resp.StatusCode, loc)
	}
	// The printed FHIR person login reaches the gateway, which asks for the second factor the
	// patient has not enrolled yet.
	lm := regexp.MustCompile(`curl -d '(\{.*\})' (\S+/auth/login)`).FindStringSubmatch(out.String())
	if lm == nil {
		t.Fatalf("no FHIR login example:\n%s", out)
	}
	resp, err = http.Post(lm[2], "application/json", strings.NewReader(lm[1]))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "a second factor is required") {
		t.Fatalf("printed FHIR login: %d %s", resp.StatusCode, body)
	}
	runPrintedHints(t, out.String())
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Fatalf("demo did not stop cleanly: %v\n%s", err, out)
	}
}

// runPrintedHints runs the command lines the demo printed, as printed, in a shell without
// the passphrase in its environment: the CLI examples after their export line, and the
// FHIR token line, whose token then opens the gateway.
func runPrintedHints(t *testing.T, out string) {
	t.Helper()
	env := append(os.Environ(), "EHRCHAIN_PASSPHRASE=")
	sh := func(script string) string {
		t.Helper()
		c := exec.Command("sh", "-c", script)
		c.Env = env
		b, err := c.Output()
		if err != nil {
			stderr := ""
			if e, ok := err.(*exec.ExitError); ok {
				stderr = string(e.Stderr)
			}
			t.Fatalf("printed hint failed: %v\n%s\n%s%s", err, script, b, stderr)
		}
		return string(b)
	}
	cli := regexp.MustCompile(`(?m)^  (export EHRCHAIN_PASSPHRASE=\S+)\n  (.*identity list.*)\n  (.*record list.*)\n  (.*consent list.*)$`).FindStringSubmatch(out)
	if cli == nil {
		t.Fatalf("no CLI examples after an export line:\n%s", out)
	}
	if got := sh(strings.Join(cli[1:], " && ")); !strings.Contains(got, "Dr Alice") {
		t.Errorf("the printed identity list does not list Dr Alice:\n%s", got)
	}
	claim := regexp.MustCompile(`\((\S.* claim status \S+ --as patient --format eob)\)`).FindStringSubmatch(out)
	if claim == nil {
		t.Fatalf("no claim status example:\n%s", out)
	}
	if got := sh(cli[1] + " && " + claim[1]); !strings.Contains(got, "ExplanationOfBenefit") {
		t.Errorf("the printed claim status is no explanation of benefit:\n%s", got)
	}
	tok := regexp.MustCompile(`(?m)^\s+(TOKEN=\$\(.*fhir token.*)$`).FindStringSubmatch(out)
	if tok == nil {
		t.Fatalf("no FHIR token example:\n%s", out)
	}
	token := sh(tok[1] + "\n" + `printf %s "$TOKEN"`)
	query := regexp.MustCompile(`curl -H "Authorization: Bearer \$TOKEN" '(\S+)'`).FindStringSubmatch(out)
	if token == "" || query == nil {
		t.Fatalf("the printed token line gave %q; printed FHIR query %v", token, query)
	}
	req, _ := http.NewRequest("GET", query[1], nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"Bundle"`) {
		t.Errorf("the printed FHIR query with the printed token: %d %s", resp.StatusCode, body)
	}
}

// checkTrialChapter checks the clinical-trial chapter's key lines: the contract's refusals
// before re-consent and after withdrawal, the report's switched-outcome findings verified
// against the app hash, and the printed HTML command, which is run as printed.
func checkTrialChapter(t *testing.T, out string) {
	t.Helper()
	for _, want := range []string{
		"refused by the contract: trials/10: participant ",
		"version 2 is in force and must be signed first",
		"refused by the contract: trials/12: participant ",
		`VIOLATION reported_outcomes missing_primary: results posting 1: pre-specified primary outcome "HbA1c change" is not reported`,
		`VIOLATION reported_outcomes not_prespecified: results posting 1: outcome "Fasting glucose" was not pre-specified`,
		"ENFORCED  data_after_withdrawal: 1 of 1 participants withdrew; 2 observations recorded",
		"VIOLATION results_due overdue: results overdue: due by ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the trial chapter does not print %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`GLU-OLD\s+results due \d{4}-\d\d-\d\d\s+RESULTS OVERDUE`).MatchString(out) {
		t.Errorf("the regulator's view does not show GLU-OLD overdue:\n%s", out)
	}
	if !regexp.MustCompile(`verified: \d+ state values at height \d+ against app hash [0-9A-F]{64}`).MatchString(out) {
		t.Errorf("the trial report was not verified against an app hash:\n%s", out)
	}
	m := regexp.MustCompile(`\(as HTML with its timeline: (\S.* trial report GLU-DEMO --html GLU-DEMO\.html)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no trial report HTML command:\n%s", out)
	}
	dir := t.TempDir()
	c := exec.Command("sh", "-c", m[1])
	c.Dir = dir
	c.Env = append(os.Environ(), "EHRCHAIN_PASSPHRASE=")
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("printed trial report command: %v\n%s\n%s", err, m[1], b)
	}
	page, err := os.ReadFile(filepath.Join(dir, "GLU-DEMO.html"))
	if err != nil || !strings.Contains(string(page), "Fasting glucose") || !strings.Contains(string(page), "<svg") {
		t.Fatalf("the printed command wrote no report page with its timeline (%v):\n%.400s", err, page)
	}
}

// checkSupplyChapter checks the drug-traceability chapter, which runs when GS1's EPCIS
// schema is beside the Synthea data (as in ../shared/data): the cloned serial's suspect
// event, the genuine and the recalled pack verified, and the printed verify command, run
// as printed.
func checkSupplyChapter(t *testing.T, out string) {
	t.Helper()
	if demo.Schema(filepath.Join("..", "..", "..", "shared", "data", "synthea-r4")) == "" {
		t.Log("no EPCIS schema in ../shared/data: the drug-traceability chapter is skipped")
		return
	}
	for _, want := range []string{
		"suspect-product event 1: dispensed_twice: https://id.gs1.org/01/04012345123456/21/1001 was dispensed again",
		"quarantined: https://id.gs1.org/01/04012345123456/21/1001",
		"(01)04012345123456(21)1002(10)L1(17)300630 -> genuine: ",
		"(01)04012345123456(21)2001(10)L2(17)300630 -> recalled: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the drug-traceability chapter does not print %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`\(the same from the CLI: (\S.* epcis verify '\S+')\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no epcis verify command:\n%s", out)
	}
	c := exec.Command("sh", "-c", m[1])
	c.Env = append(os.Environ(), "EHRCHAIN_PASSPHRASE=")
	b, err := c.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(b), "recalled: ") || !strings.Contains(string(b), "against app hash") {
		t.Fatalf("printed epcis verify: %v\n%s\n%s", err, m[1], b)
	}
}
