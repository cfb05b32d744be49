package epcis

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dataDir is the shared, third-party EPCIS 2.0 test data (not copied into the repo).
const dataDir = "../../../shared/data/epcis-2.0"

// TestEventHashVectors checks every vector of the reference implementation byte for byte.
func TestEventHashVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(dataDir, "event-hash", "*.jsonld"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors found under %s: %v", dataDir, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".jsonld") + ".hashes")
			if err != nil {
				t.Fatal(err)
			}
			wantIDs := strings.Fields(string(want))
			events, err := HashDocument(doc)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != len(wantIDs) {
				t.Fatalf("%d events hashed, %d expected", len(events), len(wantIDs))
			}
			for i, ev := range events {
				if ev.HashID != wantIDs[i] {
					t.Errorf("event %d: got %s want %s\nprehash %s", i, ev.HashID, wantIDs[i], ev.Prehash)
				}
			}
		})
	}
}

const oneEvent = `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"ex":"https://ns.example.com/epcis/"}],
"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[%s]}}`

func hashOne(t *testing.T, ev string) string {
	t.Helper()
	evs, err := HashDocument([]byte(strings.Replace(oneEvent, "%s", ev, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return evs[0].HashID
}

// The same event in another serialisation is the same event; any changed field is another.
func TestSameEventSameHashChangedFieldNewHash(t *testing.T) {
	base := hashOne(t, `{"type":"ObjectEvent","eventTime":"2024-05-01T10:00:00+02:00","eventTimeZoneOffset":"+02:00",
		"epcList":["urn:epc:id:sgtin:0614141.107346.2017","urn:epc:id:sgtin:0614141.107346.2018"],"action":"ADD",
		"bizStep":"commissioning","disposition":"active","readPoint":{"id":"urn:epc:id:sgln:0614141.00777.0"},"ex:lot":"L1"}`)
	same := []string{
		// members reordered, list reordered, Digital Link and CBV URIs instead of EPC URNs and bare words,
		// the instant in UTC, milliseconds spelt out, a recordTime and eventID added
		`{"ex:lot":"L1","readPoint":{"id":"https://id.gs1.org/414/0614141007776"},"action":"ADD","disposition":"https://ref.gs1.org/cbv/Disp-active",
		"bizStep":"urn:epcglobal:cbv:bizstep:commissioning","epcList":["https://id.gs1.org/01/10614141073464/21/2018","urn:epc:id:sgtin:0614141.107346.2017"],
		"eventTimeZoneOffset":"+02:00","eventTime":"2024-05-01T08:00:00.000Z","type":"ObjectEvent","recordTime":"2024-06-01T00:00:00Z","eventID":"urn:uuid:1"}`,
	}
	for _, s := range same {
		if got := hashOne(t, s); got != base {
			t.Errorf("same event, different hash:\n%s\n%s", base, got)
		}
	}
	changed := []string{
		`"2024-05-01T10:00:00.001+02:00"`, `"urn:epc:id:sgtin:0614141.107346.2019"`, `"OBSERVE"`, `"shipping"`,
		`"in_transit"`, `"urn:epc:id:sgln:0614141.00778.0"`, `"L2"`,
	}
	orig := []string{`"2024-05-01T10:00:00+02:00"`, `"urn:epc:id:sgtin:0614141.107346.2018"`, `"ADD"`, `"commissioning"`,
		`"active"`, `"urn:epc:id:sgln:0614141.00777.0"`, `"L1"`}
	ev := `{"type":"ObjectEvent","eventTime":"2024-05-01T10:00:00+02:00","eventTimeZoneOffset":"+02:00",
		"epcList":["urn:epc:id:sgtin:0614141.107346.2017","urn:epc:id:sgtin:0614141.107346.2018"],"action":"ADD",
		"bizStep":"commissioning","disposition":"active","readPoint":{"id":"urn:epc:id:sgln:0614141.00777.0"},"ex:lot":"L1"}`
	for i := range changed {
		if got := hashOne(t, strings.Replace(ev, orig[i], changed[i], 1)); got == base {
			t.Errorf("changing %s to %s kept the hash", orig[i], changed[i])
		}
	}
	// An error declaration leaves the declared event's hash as it was.
	decl := strings.Replace(ev, `"ex:lot":"L1"`, `"ex:lot":"L1","errorDeclaration":{"declarationTime":"2024-06-01T00:00:00Z","reason":"incorrect_data"}`, 1)
	if got := hashOne(t, decl); got != base {
		t.Errorf("error declaration changed the hash")
	}
}

func TestExamplesHash(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(dataDir, "examples", "*.jsonld"))
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		doc, _ := os.ReadFile(f)
		evs, err := HashDocument(doc)
		if err != nil || len(evs) == 0 {
			t.Errorf("%s: %d events, %v", filepath.Base(f), len(evs), err)
		}
	}
}

func TestHashRefusesWhatCannotBeHashed(t *testing.T) {
	cases := map[string]string{
		"no offset":      `{"type":"ObjectEvent","eventTime":"2024-05-01T10:00:00","action":"ADD"}`,
		"infinite":       `{"type":"ObjectEvent","eventTime":"2024-05-01T10:00:00Z","action":"ADD","ex:x":"Infinity"}`,
		"duplicate":      `{"type":"ObjectEvent","action":"ADD","action":"OBSERVE"}`,
		"bare source":    `{"type":"ObjectEvent","action":"ADD","sourceList":["urn:epc:id:pgln:0614141.00000"]}`,
		"not an object":  `"ObjectEvent"`,
		"malformed JSON": `{"type":"ObjectEvent",}`,
	}
	for name, ev := range cases {
		if _, err := HashDocument([]byte(strings.Replace(oneEvent, "%s", ev, 1))); err == nil {
			t.Errorf("%s: hashed, want refused", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func prehashOne(t *testing.T, ev string) string {
	evs, err := HashDocument([]byte(strings.Replace(oneEvent, "%s", ev, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return evs[0].Prehash
}

// TestContextAsOneString: a document whose @context is the EPCIS context as a string (as
// some clients write it; the schema allows it) hashes as with the one-entry array; a
// number is refused.
func TestContextAsOneString(t *testing.T) {
	ev := `"epcisBody":{"eventList":[{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-01-02T03:04:05Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:4012345.012345.1001"]}]}}`
	a, err := HashDocument([]byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],` + ev))
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashDocument([]byte(`{"@context":"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",` + ev))
	if err != nil || b[0].HashID != a[0].HashID {
		t.Fatalf("string context: %v, %v; want %s", b, err, a[0].HashID)
	}
	if _, err := HashDocument([]byte(`{"@context":7,` + ev)); err == nil || !strings.Contains(err.Error(), "@context") {
		t.Fatalf("a numeric context: %v", err)
	}
}
