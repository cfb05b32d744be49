package trials_test

import (
	"bytes"
	"testing"

	"github.com/ehrchain/ehrchain/internal/fhir"
	"github.com/ehrchain/ehrchain/internal/trials"
	"github.com/ehrchain/ehrchain/internal/trials/trialstest"
)

// TestReportFHIRValidates: the FHIR form is a Bundle that the gateway's R4 validator
// accepts, holding the ResearchStudy as registered and a Composition with a section per
// finding.
func TestReportFHIRValidates(t *testing.T) {
	r := trialstest.SampleReport()
	raw, err := trials.FHIRBundle(r)
	if err != nil {
		t.Fatal(err)
	}
	o, err := fhir.Validate(raw)
	if err != nil {
		t.Fatalf("the report bundle is not valid R4: %v\n%s", err, raw)
	}
	entries, _ := o["entry"].([]any)
	if o["resourceType"] != "Bundle" || len(entries) != 2 {
		t.Fatalf("bundle %v", o)
	}
	study := entries[0].(map[string]any)["resource"].(map[string]any)
	comp := entries[1].(map[string]any)["resource"].(map[string]any)
	if study["resourceType"] != "ResearchStudy" || study["title"] != "GLU-3 <phase 3>" || comp["resourceType"] != "Composition" {
		t.Fatalf("entries %v", entries)
	}
	if s, _ := comp["section"].([]any); len(s) != len(r.Findings) {
		t.Fatalf("%d sections for %d findings", len(s), len(r.Findings))
	}
	if !bytes.Contains(raw, []byte("primary_demoted")) {
		t.Fatal("the switched primary outcome is not in the bundle")
	}
}
