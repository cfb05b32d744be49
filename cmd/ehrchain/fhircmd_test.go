package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestFHIRImportCommand imports two Synthea bundles through the CLI, runs the import again
// (nothing is imported twice), gets a gateway token with a signed JWT, and reads a patient
// back over FHIR. The registrar gets no token, even unlocked on the node.
func TestFHIRImportCommand(t *testing.T) {
	home := initHome(t)
	if out, err := run(t, "--home", home, "keys", "add", "dr"); err != nil {
		t.Fatalf("keys add: %v\n%s", err, out)
	}
	p := startProc(t, home, "--fhir-unlock", "dr,registrar")
	node := "http://" + p.api
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "data", "synthea-r4", "*.json"))
	if len(files) < 2 {
		t.Fatal("Synthea bundles missing")
	}
	for _, args := range [][]string{
		{"identity", "register", "--as", "registrar", "--key", "dr", "--role", "provider", "--org", "St Mary", "--licence", "MD-1"},
	} {
		if out, err := run(t, append([]string{"--home", home, "--node", node}, args...)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	imp := append([]string{"--home", home, "--node", node, "fhir", "import", "--as", "dr", "--quiet"}, files[:2]...)
	out, err := run(t, imp...)
	if err != nil || !strings.Contains(out, "2 patients (2 new)") || !strings.Contains(out, "469 resources: 469 imported, 0 already") {
		t.Fatalf("first import: %v\n%s", err, out)
	}
	out, err = run(t, imp...)
	if err != nil || !strings.Contains(out, "2 patients (0 new)") || !strings.Contains(out, "0 imported, 469 already on the ledger") {
		t.Fatalf("second import imported again: %v\n%s", err, out)
	}
	// A broken file is reported and the others still go in.
	out, err = run(t, "--home", home, "--node", node, "fhir", "import", "--as", "dr", "--quiet",
		filepath.Join("..", "..", "..", "shared", "data", "fhir-r4-invalid", "synthea.json"), files[0])
	if err != nil || !strings.Contains(out, "1 failed") || !strings.Contains(out, "Encounter.reasonCode") {
		t.Fatalf("import with an invalid file: %v\n%s", err, out)
	}
	// The gateway acts for dr here (unlocked at start); the registrar, unlocked too, never
	// gets a gateway token.
	if out, err := run(t, "--home", home, "--node", node, "fhir", "token", "--as", "registrar"); err == nil || !strings.Contains(out, "registrar never gets a gateway token") {
		t.Fatalf("token for the registrar: %v %s", err, out)
	}
	tok, err := run(t, "--home", home, "--node", node, "fhir", "token", "--as", "dr")
	if err != nil {
		t.Fatalf("token: %v %s", err, tok)
	}
	req, _ := http.NewRequest("GET", node+"/fhir/r4/metadata", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "CapabilityStatement") {
		t.Fatalf("metadata: %d %s", resp.StatusCode, body)
	}
}
