package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/wire"
)

// TestTrialConsentCommands is the e-consent story through the CLI against a real node: the
// IRB approves consent form v1, the participant grants the investigator research writes
// and the sponsor research reads, is enrolled and has an observation recorded; after v2 a
// record is refused until the participant re-consents; the sponsor exports the dataset
// (the file's digest is the export event's, and no identity id is in it); the participant
// withdraws and a further record is refused. Enrolments answer signed queries only.
func TestTrialConsentCommands(t *testing.T) {
	home := initHome(t)
	p := startProc(t, home)
	run2, cli := p.commands(t)
	for _, k := range []string{"spon", "dr", "irb", "pat", "other"} {
		cli("keys", "add", k)
	}
	cli("identity", "register", "--as", "registrar", "--key", "spon", "--role", "provider", "--org", "Acme Research", "--licence", "SP-9")
	cli("identity", "register", "--as", "registrar", "--key", "dr", "--role", "provider", "--org", "St Mary", "--licence", "MD-1")
	cli("identity", "register", "--as", "registrar", "--key", "irb", "--role", "auditor")
	cli("identity", "register", "--as", "dr", "--key", "pat", "--role", "patient")
	cli("identity", "register", "--as", "dr", "--key", "other", "--role", "patient")
	patID, sponID, drID := keystoreID(t, home, "pat"), keystoreID(t, home, "spon"), keystoreID(t, home, "dr")

	dir := t.TempDir()
	file := func(name, content string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	reg, err := json.Marshal(map[string]any{"trial": "GLU-4", "irb": "irb", "sign": map[string]string{"reason": "registration"},
		"protocol": map[string]any{
			"protocol_sha256": strings.Repeat("ab", 32), "planned_enrolment": 10, "primary_completion": "2030-01-01",
			"outcomes":       map[string]any{"primary": []any{map[string]string{"measure": "HbA1c change", "time_frame": "26 weeks"}}},
			"arms":           []any{map[string]string{"name": "drug"}},
			"sites":          []any{map[string]string{"name": "St Mary", "investigator": "dr"}},
			"categories":     []string{"general"},
			"research_study": map[string]any{"resourceType": "ResearchStudy", "status": "active", "title": "GLU-4"}}})
	if err != nil {
		t.Fatal(err)
	}
	cli("trial", "register", file("reg.json", string(reg)), "--as", "spon")
	cli("trial", "approve", "GLU-4", "--as", "irb", "--version", "1", "--reason", "protocol sound")
	cli("trial", "consent-form", "GLU-4", file("consent-v1.txt", "Informed consent v1"), "--as", "irb", "--categories", "general", "--reason", "approved")
	cli("consent", "grant", "--as", "pat", "--to", "dr", "--actions", "write", "--purposes", "research", "--categories", "general")
	cli("consent", "grant", "--as", "pat", "--to", "spon", "--actions", "read", "--purposes", "research", "--categories", "general")
	cli("trial", "enrol", "GLU-4", "--as", "dr", "--patient", "pat", "--arm", "drug", "--site", "St Mary", "--consent-form", "1")
	obs := file("obs.json", `{"resourceType":"Observation","status":"final","code":{"text":"HbA1c"},"valueQuantity":{"value":7.1,"unit":"%"}}`)
	if out := cli("trial", "record", "GLU-4", obs, "--as", "dr", "--patient", "pat"); !strings.Contains(out, "recorded") {
		t.Fatalf("trial record:\n%s", out)
	}

	cli("trial", "consent-form", "GLU-4", file("consent-v2.txt", "Informed consent v2"), "--as", "irb", "--categories", "general", "--reason", "new risk information")
	if out, err := run2("trial", "record", "GLU-4", obs, "--as", "dr", "--patient", "pat"); err == nil || !strings.Contains(out, "trials/10") {
		t.Fatalf("a record before re-consent went through: %v\n%s", err, out)
	}
	if out := cli("trial", "reconsent", "GLU-4", "--as", "pat"); !strings.Contains(out, "signed consent form version 2") {
		t.Fatalf("reconsent:\n%s", out)
	}
	cli("trial", "record", "GLU-4", obs, "--as", "dr", "--patient", "pat")

	// Enrolments name participants: the sponsor sees them, another patient sees none, an
	// unsigned query is refused.
	if out := cli("trial", "enrolments", "GLU-4", "--as", "spon"); !strings.Contains(out, patID) || !strings.Contains(out, "signed v1@") || !strings.Contains(out, " v2@") {
		t.Fatalf("enrolments for the sponsor:\n%s", out)
	}
	if out := cli("trial", "enrolments", "GLU-4", "--as", "other"); strings.Contains(out, patID) {
		t.Fatalf("another patient sees the participant:\n%s", out)
	}
	for q, want := range map[string]int{"/v1/trials/GLU-4/enrolments": http.StatusUnauthorized, "/v1/trials/GLU-4/dataset": http.StatusUnauthorized,
		"/v1/trials/GLU-4/consent-forms": http.StatusOK, "/v1/trials/NOPE/consent-forms": http.StatusNotFound} {
		resp, err := http.Get("http://" + p.api + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", q, resp.StatusCode, want)
		}
	}
	if out, err := run2("trial", "export", "GLU-4", "--as", "dr", "--out", filepath.Join(dir, "x.json")); err == nil || !strings.Contains(out, "403") && !strings.Contains(out, "sponsor") {
		t.Fatalf("the investigator exported the sponsor's dataset: %v\n%s", err, out)
	}

	ds := filepath.Join(dir, "dataset.json")
	if out := cli("trial", "export", "GLU-4", "--as", "spon", "--out", ds); !strings.Contains(out, "1 participants, 2 records") {
		t.Fatalf("export:\n%s", out)
	}
	data, err := os.ReadFile(ds)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{patID, sponID, drID} {
		if strings.Contains(string(data), id) {
			t.Fatalf("the dataset file names %s:\n%s", id, data)
		}
	}
	var tr wire.TrialResponse
	if err := json.Unmarshal([]byte(cli("trial", "show", "GLU-4", "--json")), &tr); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if len(tr.Exports) != 1 || tr.Exports[0].Digest != hex.EncodeToString(sum[:]) || len(tr.ConsentForms) != 2 {
		t.Fatalf("export events %+v, consent forms %d; the file's SHA-256 is %x", tr.Exports, len(tr.ConsentForms), sum)
	}

	cli("trial", "withdraw", "GLU-4", "--as", "pat", "--reason", "moving away")
	if out, err := run2("trial", "record", "GLU-4", obs, "--as", "dr", "--patient", "pat"); err == nil || !strings.Contains(out, "trials/12") {
		t.Fatalf("a record after withdrawal went through: %v\n%s", err, out)
	}
	if out := cli("trial", "enrolments", "GLU-4", "--as", "irb", "--withdrawn"); !strings.Contains(out, "WITHDRAWN") {
		t.Fatalf("withdrawals for the IRB:\n%s", out)
	}
	if out := cli("trial", "show", "GLU-4"); !strings.Contains(out, "withdrawn 1; observations recorded 2; dataset exports 1") || !strings.Contains(out, "consent form version 2") {
		t.Fatalf("trial show:\n%s", out)
	}
	trialReportStory(t, cli, run2, file, dir, hex.EncodeToString(sum[:]), patID)
}

// trialReportStory continues the consent story: results switch the primary outcome, add
// one and change a time frame, with the exported dataset as the analysis dataset; `trial
// report` verifies the proofs against the node's app hash and writes the JSON, HTML and
// FHIR forms; `trial verify-report` checks the JSON offline, and refuses it with a changed
// finding, a flipped byte in a proof, or another app hash.
func trialReportStory(t *testing.T, cli func(...string) string, run2 func(...string) (string, error), file func(name, content string) string, dir, dataset, patID string) {
	t.Helper()
	res := file("results.json", `{"dataset_sha256":"`+dataset+`","outcomes":[`+
		`{"measure":"HbA1c change","time_frame":"52 weeks","primary":false,"result":"-0.3%"},`+
		`{"measure":"Fasting glucose","time_frame":"12 weeks","primary":true,"result":"-1.0 mmol/l"}]}`)
	cli("trial", "results", "GLU-4", res, "--as", "spon", "--reason", "final analysis")
	js, page, bundle := filepath.Join(dir, "report.json"), filepath.Join(dir, "report.html"), filepath.Join(dir, "report.fhir.json")
	out := cli("trial", "report", "GLU-4", "--json", js, "--html", page, "--fhir", bundle)
	for _, want := range []string{"OK        registered_before_enrolment", "VIOLATION reported_outcomes primary_demoted", "VIOLATION reported_outcomes time_frame_changed",
		"VIOLATION reported_outcomes not_prespecified", "OK        analysis_dataset", "ENFORCED  data_after_withdrawal: 1 of 1 participants withdrew",
		"consent form 1: 1 enrolled under it", "consent form 2: 0 enrolled under it, 1 re-consents", "findings recomputed"} {
		if !strings.Contains(out, want) {
			t.Fatalf("trial report has no %q:\n%s", want, out)
		}
	}
	i := strings.Index(out, "against app hash ")
	appHash := strings.TrimSuffix(strings.Fields(out[i+len("against app hash "):])[0], ",")
	for _, f := range []string{js, page, bundle} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), patID) {
			t.Fatalf("%s names the participant", f)
		}
	}
	if b, _ := os.ReadFile(page); !strings.Contains(string(b), `<svg id="timeline"`) || !strings.Contains(string(b), appHash) {
		t.Fatal("the HTML report has no timeline or no app hash")
	}
	if b, _ := os.ReadFile(bundle); !strings.Contains(string(b), `"resourceType": "Bundle"`) {
		t.Fatal("the FHIR report is not a Bundle")
	}
	if out, err := run2("trial", "report", "GLU-4", "--app-hash", strings.Repeat("00", 32)); err == nil || !strings.Contains(out, "does not verify") {
		t.Fatalf("trial report verified against another app hash: %v\n%s", err, out)
	}
	if out := cli("trial", "report"); !strings.Contains(out, "GLU-4") || !strings.Contains(out, "discrepancies=3") || !strings.Contains(out, "overdue=false") {
		t.Fatalf("cross-trial report:\n%s", out)
	}

	// Offline: no node is asked.
	if out := cli("--node", "127.0.0.1:1", "trial", "verify-report", js, "--app-hash", appHash); !strings.Contains(out, "VIOLATION reported_outcomes primary_demoted") {
		t.Fatalf("verify-report:\n%s", out)
	}
	raw, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var rep wire.TrialReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	tamper := func(name string, change func(*wire.TrialReport)) string {
		var r wire.TrialReport
		json.Unmarshal(raw, &r)
		change(&r)
		b, _ := json.Marshal(&r)
		return file(name, string(b))
	}
	for what, f := range map[string]string{
		"a changed finding": tamper("finding.json", func(r *wire.TrialReport) {
			for i := range r.Report.Findings {
				r.Report.Findings[i].Status = trials.StatusOK
			}
		}),
		"a flipped byte in a proof": tamper("proof.json", func(r *wire.TrialReport) { r.Values[0].Proof.Map[10] ^= 1 }),
	} {
		if out, err := run2("trial", "verify-report", f, "--app-hash", appHash); err == nil || !strings.Contains(out, "report rejected") {
			t.Errorf("verify-report accepted %s: %v\n%s", what, err, out)
		}
	}
	if out, err := run2("trial", "verify-report", js, "--app-hash", strings.Repeat("00", 32)); err == nil || !strings.Contains(out, "trusted app hash") {
		t.Errorf("verify-report accepted another app hash: %v\n%s", err, out)
	}

	// The block time proven by the headers of blocks H and H+1, then offline against the
	// hash of block H+1; another hash or a changed block time is rejected.
	timed := filepath.Join(dir, "report-timed.json")
	out = cli("trial", "report", "GLU-4", "--prove-time", "--json", timed)
	m := regexp.MustCompile(`block time proven: block \d+ was made at \S+ \(headers of blocks \d+ and \d+; block \d+ hash ([0-9A-F]{64}), the node's`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("trial report --prove-time:\n%s", out)
	}
	timedPage := filepath.Join(dir, "report-timed.html")
	if out := cli("--node", "127.0.0.1:1", "trial", "verify-report", timed, "--trusted-block-hash", m[1], "--html", timedPage); !strings.Contains(out, "block time proven") || !strings.Contains(out, "findings recomputed") {
		t.Fatalf("verify-report --trusted-block-hash:\n%s", out)
	}
	if b, _ := os.ReadFile(timedPage); !strings.Contains(string(b), "Block time proven") || !strings.Contains(string(b), m[1]) {
		t.Fatal("the HTML page does not show the proven block time")
	}
	if out, err := run2("trial", "verify-report", timed, "--trusted-block-hash", strings.Repeat("00", 32)); err == nil || !strings.Contains(out, "block time not proven") {
		t.Errorf("verify-report accepted another block hash: %v\n%s", err, out)
	}
	traw, _ := os.ReadFile(timed)
	var tr wire.TrialReport
	json.Unmarshal(traw, &tr)
	tr.BlockTime = tr.BlockTime.Add(time.Hour)
	b, _ := json.Marshal(&tr)
	if out, err := run2("trial", "verify-report", file("later.json", string(b)), "--trusted-block-hash", m[1]); err == nil || !strings.Contains(out, "block time not proven") {
		t.Errorf("verify-report accepted a changed block time: %v\n%s", err, out)
	}
}
