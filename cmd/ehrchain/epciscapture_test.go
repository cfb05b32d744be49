package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ehrchain/ehrchain/internal/epcis"
)

// TestEpcisCaptureCommands: an operator points the node at GS1's schema, the registrar
// registers a manufacturer and binds its company prefix, and the manufacturer captures a
// standard example twice: its events are new the first time and known the second.
func TestEpcisCaptureCommands(t *testing.T) {
	home := epcisHome(t)
	p := startProc(t, home)
	_, cli := p.commands(t)
	cli("keys", "add", "acme")
	cli("identity", "register", "--as", "registrar", "--key", "acme", "--role", "manufacturer", "--org", "Acme Pharma")
	cli("epcis", "bind", "--partner", "acme", "--prefix", "4012345", "--gln", "4012345000009")

	doc := "../../../shared/data/epcis-2.0/examples/Example_9.6.4-TransformationEvent.jsonld"
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := epcis.HashDocument(data)
	if err != nil {
		t.Fatal(err)
	}
	if out := cli("epcis", "capture", doc, "--as", "acme"); strings.TrimSpace(out) != want[0].HashID+" new" {
		t.Fatalf("first capture printed %q, want %q", out, want[0].HashID+" new")
	}
	if out := cli("epcis", "capture", doc, "--as", "acme"); strings.TrimSpace(out) != want[0].HashID+" known" {
		t.Fatalf("second capture printed %q", out)
	}
	if out := cli("epcis", "event", want[0].HashID, "--as", "acme"); !strings.Contains(out, `"TransformationEvent"`) || !strings.Contains(out, want[0].HashID) {
		t.Fatalf("event printed %s", out)
	}
}

// epcisHome is a node home whose config points at GS1's EPCIS schema, so it captures.
func epcisHome(t *testing.T) string {
	home := initHome(t)
	schema, err := filepath.Abs("../../../shared/data/epcis-2.0/schema/EPCIS-JSON-Schema.json")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(home, "config", "ehrchain.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["epcis_schema"] = schema
	raw, _ = json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}
