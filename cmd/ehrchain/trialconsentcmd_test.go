package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
}
