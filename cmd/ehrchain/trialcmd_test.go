package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/keys"
)

// TestTrialCommands is a trial's story through the CLI: registered, approved, one
// participant enrolled, the primary outcome switched by an amendment, results posted
// without the registered primary. `trial show` reports the switch and the discrepancy,
// `trial list` counts the enrolment without naming the participant, and the trial is
// overdue (its primary completion was long ago) until results are posted.
func TestTrialCommands(t *testing.T) {
	home := initHome(t)
	p := startProc(t, home)
	run2, cli := p.commands(t)
	for _, k := range []string{"spon", "dr", "irb", "pat"} {
		cli("keys", "add", k)
	}
	cli("identity", "register", "--as", "registrar", "--key", "spon", "--role", "provider", "--org", "Acme Research", "--licence", "MD-9")
	cli("identity", "register", "--as", "registrar", "--key", "dr", "--role", "provider", "--org", "St Mary", "--licence", "MD-1")
	cli("identity", "register", "--as", "registrar", "--key", "irb", "--role", "auditor")
	cli("identity", "register", "--as", "dr", "--key", "pat", "--role", "patient")
	patID := keystoreID(t, home, "pat")

	dir := t.TempDir()
	write := func(name string, v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	protocol := func(primary string) map[string]any {
		return map[string]any{
			"protocol_sha256":    strings.Repeat("ab", 32),
			"outcomes":           map[string]any{"primary": []any{map[string]string{"measure": primary, "time_frame": "26 weeks"}}},
			"planned_enrolment":  100,
			"arms":               []any{map[string]string{"name": "drug"}, map[string]string{"name": "placebo"}},
			"sites":              []any{map[string]string{"name": "St Mary", "investigator": "dr"}},
			"primary_completion": "2020-01-01",
			"research_study":     map[string]any{"resourceType": "ResearchStudy", "status": "active", "title": "Glucose lowering in type 2 diabetes"},
		}
	}
	reg := write("reg.json", map[string]any{"trial": "GLU-3", "irb": "irb", "protocol": protocol("HbA1c change"),
		"sign": map[string]string{"reason": "initial registration"}})

	if out, err := run2("trial", "enrol", "GLU-3", "--as", "dr", "--patient", "pat", "--arm", "drug", "--site", "St Mary", "--consent-form", "1"); err == nil || !strings.Contains(out, "trials/3") {
		t.Fatalf("enrolment before registration went through: %v\n%s", err, out)
	}
	cli("trial", "register", reg, "--as", "spon")
	if out, err := run2("trial", "enrol", "GLU-3", "--as", "dr", "--patient", "pat", "--arm", "drug", "--site", "St Mary", "--consent-form", "1"); err == nil || !strings.Contains(out, "trials/6") {
		t.Fatalf("enrolment before IRB approval went through: %v\n%s", err, out)
	}
	cli("trial", "approve", "GLU-3", "--as", "irb", "--version", "1", "--meaning", "approval", "--reason", "protocol sound")
	if out, err := run2("trial", "enrol", "GLU-3", "--as", "dr", "--patient", "pat", "--arm", "drug", "--site", "St Mary", "--consent-form", "1"); err == nil || !strings.Contains(out, "trials/9") {
		t.Fatalf("enrolment before a consent form was approved went through: %v\n%s", err, out)
	}
	doc := filepath.Join(dir, "consent-v1.txt")
	if err := os.WriteFile(doc, []byte("Informed consent, version 1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := cli("trial", "consent-form", "GLU-3", doc, "--as", "irb", "--categories", "general", "--reason", "board approved"); !strings.Contains(out, "consent form version 1") {
		t.Fatalf("consent-form:\n%s", out)
	}
	if out, err := run2("trial", "enrol", "GLU-3", "--as", "dr", "--patient", "pat", "--arm", "drug", "--site", "St Mary", "--consent-form", "1"); err == nil || !strings.Contains(out, "trials/11") {
		t.Fatalf("enrolment without the participant's research grant went through: %v\n%s", err, out)
	}
	cli("consent", "grant", "--as", "pat", "--to", "dr", "--actions", "write", "--purposes", "research")
	cli("trial", "enrol", "GLU-3", "--as", "dr", "--patient", "pat", "--arm", "drug", "--site", "St Mary", "--consent-form", "1")

	if out := cli("trial", "list", "--overdue"); !strings.Contains(out, "GLU-3") {
		t.Fatalf("a trial past its results deadline without results is not listed as overdue:\n%s", out)
	}
	amend := write("amend.json", protocol("Fasting glucose change"))
	if out := cli("trial", "amend", "GLU-3", amend, "--as", "spon", "--reason", "new primary"); !strings.Contains(out, "OUTCOME SWITCH") {
		t.Fatalf("amend did not report the outcome switch:\n%s", out)
	}
	res := write("res.json", map[string]any{"outcomes": []any{map[string]any{"measure": "Fasting glucose change",
		"time_frame": "26 weeks", "primary": true, "result": "-1.2 mmol/l"}}})
	cli("trial", "results", "GLU-3", res, "--as", "spon", "--reason", "final analysis")

	show := cli("trial", "show", "GLU-3")
	for _, want := range []string{"OUTCOME SWITCH", "changes: outcomes.primary", "DISCREPANCY missing_primary: HbA1c change",
		"DISCREPANCY not_prespecified: Fasting glucose change", "Glucose lowering in type 2 diabetes", "enrolled 1", "outcome switches 1"} {
		if !strings.Contains(show, want) {
			t.Errorf("trial show lacks %q:\n%s", want, show)
		}
	}
	for _, out := range []string{cli("trial", "list"), cli("trial", "list", "--json"), cli("trial", "show", "GLU-3", "--json"), show} {
		if strings.Contains(out, patID) {
			t.Errorf("a public trial answer names the participant %s:\n%s", patID, out)
		}
	}
	list := cli("trial", "list")
	if !strings.Contains(list, "GLU-3") || !strings.Contains(list, "enrolled=1 outcome_switches=1 results=true discrepancies=2 overdue=false") {
		t.Fatalf("trial list:\n%s", list)
	}
	if out := cli("trial", "list", "--overdue"); strings.Contains(out, "GLU-3") {
		t.Fatalf("a trial with results posted is still listed as overdue:\n%s", out)
	}
	for q, want := range map[string]int{"/v1/trials?overdue=yes": http.StatusBadRequest, "/v1/trials/NOPE": http.StatusNotFound, "/v1/trials?overdue=1": http.StatusOK} {
		resp, err := http.Get("http://" + p.api + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", q, resp.StatusCode, want)
		}
	}
	if out, err := run2("trial", "show", "NOPE"); err == nil || !strings.Contains(out, "not registered") {
		t.Fatalf("showing an unregistered trial: %v\n%s", err, out)
	}
}

// keystoreID is the identity id of a local keystore.
func keystoreID(t *testing.T, home, name string) string {
	t.Helper()
	data, err := keys.Dir{Path: filepath.Join(home, "keys")}.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := keys.PublicInfo(data)
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}
