package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/claims"
)

const syntheaBundle = "../../../shared/data/synthea-r4/Abdul_Koepp_e925b0f3-8006-43f6-aa31-94bd215e55e7.json"

// TestClaimCommands drives the claims CLI against a node process: an insurer publishes a
// plan and enrolls a patient, the patient consents to payment, a provider records a real
// Synthea Encounter and submits the matching Synthea Claim from the bundle, the insurer pays,
// and every party sees the status.
func TestClaimCommands(t *testing.T) {
	home := initHome(t)
	p := startProc(t, home)
	_, cli := p.commands(t)
	for _, k := range []string{"dr", "acme", "pat"} {
		cli("keys", "add", k)
	}
	cli("identity", "register", "--as", "registrar", "--key", "dr", "--role", "provider", "--org", "St Mary", "--licence", "MD-1")
	cli("identity", "register", "--as", "registrar", "--key", "acme", "--role", "insurer", "--org", "Acme Health")
	cli("identity", "register", "--as", "dr", "--key", "pat", "--role", "patient")
	cli("consent", "grant", "--as", "pat", "--to", "dr", "--actions", "read,write", "--purposes", "treatment")
	cli("consent", "grant", "--as", "pat", "--to", "acme", "--types", "Claim", "--purposes", "payment")

	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.json")
	writeJSON(t, plan, claims.Plan{ID: "basic", Name: "Basic", Effective: "1900-01-01",
		Benefits: []claims.Benefit{{System: claims.Any, Code: claims.Any, CoinsuranceBP: 2000}}})
	if out := cli("plan", "publish", plan, "--as", "acme"); !strings.Contains(out, "published plan basic version 1") {
		t.Fatalf("plan publish: %s", out)
	}
	if out := cli("plan", "show", "basic", "--insurer", "acme", "--version", "1"); !strings.Contains(out, `"coinsurance_bp": 2000`) {
		t.Fatalf("plan show: %s", out)
	}
	cli("coverage", "enroll", "--as", "acme", "--patient", "pat", "--plan", "basic", "--member", "A-1", "--start", "1900-01-01")

	raw, err := os.ReadFile(syntheaBundle)
	if err != nil {
		t.Fatal(err)
	}
	cs, es, err := claims.BundleClaims(raw)
	if err != nil {
		t.Fatal(err)
	}
	eob, err := claims.ParseEOB(es[1])
	if err != nil {
		t.Fatal(err)
	}
	fc, err := claims.FindFHIRClaim(raw, eob.Claim)
	if err != nil || len(cs) == 0 {
		t.Fatal(err)
	}
	encounter := filepath.Join(dir, "encounter.json")
	if err := os.WriteFile(encounter, []byte(`{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := regexp.MustCompile(`wrote (\S+) version 1`).FindStringSubmatch(cli("record", "put", encounter, "--as", "dr", "--patient", "pat"))
	if rec == nil {
		t.Fatal("record put printed no record id")
	}
	out := cli("claim", "submit", syntheaBundle, "--claim", fc.ID, "--as", "dr", "--patient", "pat", "--insurer", "acme",
		"--encounter", rec[1], "--format", "json")
	var cl claims.Claim
	if err := json.Unmarshal([]byte(out), &cl); err != nil {
		t.Fatalf("claim submit --format json: %v\n%s", err, out)
	}
	if cl.Submitted != eob.Submitted || cl.Source != fc.ID || cl.ServiceDate != fc.ServiceDate || cl.Status != claims.StatusPayable {
		t.Fatalf("submitted claim: %+v, Synthea EOB submitted %d", cl, eob.Submitted)
	}
	// Submitting it again is refused as a duplicate, with the code on stderr.
	if out, err := run(t, "--home", home, "--node", p.api, "claim", "submit", syntheaBundle, "--claim", fc.ID, "--as", "dr",
		"--patient", "pat", "--insurer", "acme", "--encounter", rec[1]); err == nil || !strings.Contains(out, "claims/7") {
		t.Fatalf("duplicate submission: err=%v\n%s", err, out)
	}
	cli("claim", "pay", cl.ID, "--as", "acme", "--ref", "EFT-9")
	for _, who := range []string{"dr", "pat", "acme"} {
		if out := cli("claim", "status", cl.ID, "--as", who); !strings.Contains(out, "status paid") {
			t.Fatalf("claim status as %s: %s", who, out)
		}
		if out := cli("claim", "list", "--as", who); !strings.Contains(out, cl.ID) {
			t.Fatalf("claim list as %s: %s", who, out)
		}
	}
	out = cli("claim", "status", cl.ID, "--as", "pat", "--format", "eob")
	var res claims.ClaimResponseResource
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.ResourceType != "ExplanationOfBenefit" || res.Payment.Amount.Value != json.Number(claims.FormatCents(cl.Payable)) {
		t.Fatalf("claim status --format eob: %v\n%s", err, out)
	}
	if out, err := run(t, "--home", home, "--node", p.api, "claim", "submit", "--as", "dr", "--patient", "pat", "--insurer", "acme",
		"--encounter", rec[1], "--line", "http://snomed.info/sct|185349003|-1"); err == nil || !strings.Contains(out, "negative") {
		t.Fatalf("negative --line amount: err=%v\n%s", err, out)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
