package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEmergencyCommands plays break-glass through the binary against a node process:
// custodians enrolled, a patient escrows, an ER physician is denied, declares, custodian
// nodes release, the physician reads, justifies, and the auditor reviews and reports.
func TestEmergencyCommands(t *testing.T) {
	home := initHome(t)
	p := startProc(t, home)
	_, cli := p.commands(t)
	for _, k := range []string{"dr-er", "carol", "esc1", "esc2", "aud"} {
		cli("keys", "add", k)
	}
	cli("identity", "register", "--as", "registrar", "--key", "dr-er", "--role", "provider", "--org", "County General", "--licence", "MD-9")
	cli("identity", "register", "--as", "registrar", "--key", "esc1", "--role", "provider", "--org", "St Mary", "--licence", "ESC-1")
	cli("identity", "register", "--as", "registrar", "--key", "esc2", "--role", "provider", "--org", "City Clinic", "--licence", "ESC-2")
	cli("identity", "register", "--as", "registrar", "--key", "aud", "--role", "auditor")
	cli("identity", "register", "--as", "dr-er", "--key", "carol", "--role", "patient")
	cli("emergency", "custodian-enrol", "esc1", "--institution", "St Mary")
	cli("emergency", "custodian-enrol", "esc2", "--institution", "City Clinic")
	cli("emergency", "escrow", "--as", "carol", "--categories", "general", "--threshold", "2")
	cli("emergency", "opt-out", "--as", "carol", "--categories", "hiv")
	if out, err := run(t, "--home", home, "--node", p.api, "emergency", "declare", "--as", "dr-er", "--patient", "carol", "--reason", "x", "--categories", "hiv"); err == nil || !strings.Contains(out, "emergency/4") {
		t.Fatalf("declaring an opted-out category: %v\n%s", err, out)
	}

	obs := filepath.Join(t.TempDir(), "obs.json")
	body := `{"resourceType":"Observation","status":"final","code":{"text":"blood type"},"valueString":"O negative"}`
	if err := os.WriteFile(obs, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := regexp.MustCompile(`wrote (r-[0-9a-f]+)`).FindStringSubmatch(cli("record", "put", obs, "--as", "carol", "--patient", "carol"))
	if rec == nil {
		t.Fatal("no record id")
	}
	if out, err := run(t, "--home", home, "--node", p.api, "emergency", "read", rec[1], "--as", "dr-er", "--patient", "carol"); err == nil || !strings.Contains(out, "no emergency declaration") {
		t.Fatalf("break-glass read without a declaration: %v\n%s", err, out)
	}
	decl := regexp.MustCompile(`declared (e-[0-9a-f]{16})`).FindStringSubmatch(cli("emergency", "declare", "--as", "dr-er", "--patient", "carol", "--reason", "unconscious on arrival"))
	if decl == nil {
		t.Fatal("no declaration id")
	}
	cli("emergency", "custodian", "--as", "esc1", "--once")
	if out, err := run(t, "--home", home, "--node", p.api, "emergency", "read", rec[1], "--as", "dr-er", "--patient", "carol"); err == nil {
		t.Fatalf("read with one of two shares succeeded:\n%s", out)
	}
	cli("emergency", "custodian", "--as", "esc2", "--once")
	plain := filepath.Join(t.TempDir(), "plain.json")
	cli("emergency", "read", rec[1], "--as", "dr-er", "--patient", "carol", "--out", plain)
	if got, _ := os.ReadFile(plain); string(got) != body {
		t.Fatalf("emergency read gave %q", got)
	}
	show := cli("emergency", "show", "carol")
	compact := strings.Join(strings.Fields(show), "")
	for _, want := range []string{decl[1], `"opted_out":["hiv"]`, `"visible":["general"]`, `"categories":["general"]`} {
		if !strings.Contains(compact, want) {
			t.Fatalf("the patient's view lacks %s:\n%s", want, show)
		}
	}
	// Who broke the glass for whom is answered only to a signed query, and only in part to a
	// custodian: it sees the declaration that asks for its share, not why.
	if out, err := run(t, "--home", home, "--node", p.api, "emergency", "show"); err == nil || !strings.Contains(out, "--as") {
		t.Fatalf("an unsigned list of every declaration: %v\n%s", err, out)
	}
	if out := cli("emergency", "show", "--as", "esc1"); !strings.Contains(out, decl[1]) || strings.Contains(out, "unconscious on arrival") {
		t.Fatalf("the custodian's view of the declarations:\n%s", out)
	}
	if out, err := run(t, "--home", home, "--node", p.api, "emergency", "show", "carol", "--as", "aud"); err != nil || !strings.Contains(out, "unconscious on arrival") {
		t.Fatalf("the auditor's view of the patient: %v\n%s", err, out)
	}
	cli("emergency", "justify", decl[1], "--as", "dr-er", "--text", "needed blood type before transfusion")
	cli("emergency", "review", decl[1], "--as", "aud", "--verdict", "appropriate")
	rep := cli("emergency", "report", "--as", "aud")
	for _, want := range []string{"1 emergency access(es), 1 denied break-glass attempt(s)", decl[1], "status: reviewed", "review by", "appropriate"} {
		if !strings.Contains(rep, want) {
			t.Fatalf("report lacks %q:\n%s", want, rep)
		}
	}
}
