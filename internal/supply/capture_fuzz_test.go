package supply

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseCapture: whatever a signed transaction carries, reading it at commit returns
// an error or events, never panics (a panic in FinalizeBlock would halt the chain), the
// custody contract decides on every event, and an error declaration added to an event
// keeps it JSON.
func FuzzParseCapture(f *testing.F) {
	for _, name := range []string{"Example_9.6.1-ObjectEvent.jsonld", "Example_9.6.4-TransformationEvent.jsonld", "ErrorDeclarationAndCorrectiveEvent.jsonld"} {
		if b, err := os.ReadFile(filepath.Join("../../../shared/data/epcis-2.0/examples", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"@context":[],"epcisBody":{"eventList":[{"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","epcList":["urn:epc:id:sgtin:4012345.012345.1"],"eventTime":"2026-01-02T03:04:05Z","eventTimeZoneOffset":"+00:00"}]}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		events, fs, err := parseCapture(doc)
		if err != nil {
			return
		}
		if len(events) != len(fs) || len(events) == 0 {
			t.Fatalf("%d events, %d facts", len(events), len(fs))
		}
		for i, e := range events {
			if Digest(e.HashID) == "" {
				t.Fatalf("event %d: hash id %q has no digest", i, e.HashID)
			}
			Decide(mapLedger{items: map[string]*Item{}}, "acme", []string{"4012345"}, fs[i], "d")
			if d := fs[i].decl; d != nil && !json.Valid(withDeclaration(fs[i].raw, d)) {
				t.Fatalf("event %d with its declaration is not JSON: %s", i, withDeclaration(fs[i].raw, d))
			}
		}
	})
}
