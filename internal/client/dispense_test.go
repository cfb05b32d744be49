package client

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ehrchain/ehrchain/internal/supply"
)

// TestDispenseRecordRoundTrip: the MedicationDispense a pharmacy writes carries the pack's
// GS1 identifiers where FHIR R4 puts them, and the pack's code reads back from it.
func TestDispenseRecordRoundTrip(t *testing.T) {
	when := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	code, err := supply.ParseCode("(01)04012345123456(21)A/1 7(10)L1(17)270600")
	if err != nil {
		t.Fatal(err)
	}
	b, err := DispenseRecord(Dispensed{Code: code, Medication: "Amoxicillin 500 mg capsules", Patient: "pat-1", Pharmacy: "Corner Pharmacy", HandedOver: when})
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		ResourceType string `json:"resourceType"`
		Status       string `json:"status"`
		Contained    []struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Identifier   []struct{ System, Value string }
			Batch        struct{ LotNumber, ExpirationDate string }
		}
		MedicationReference struct{ Reference string }
		Subject             struct{ Reference string }
		WhenHandedOver      string
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.ResourceType != "MedicationDispense" || r.Status != "completed" || r.Subject.Reference != "Patient/pat-1" ||
		r.WhenHandedOver != "2026-03-04T10:00:00Z" || len(r.Contained) != 1 {
		t.Fatalf("dispense %s", b)
	}
	m := r.Contained[0]
	if m.ResourceType != "Medication" || "#"+m.ID != r.MedicationReference.Reference {
		t.Fatalf("the dispense does not refer to its contained Medication: %s", b)
	}
	if m.Batch.LotNumber != "L1" || m.Batch.ExpirationDate != "2027-06-30" {
		t.Fatalf("batch %+v, want lot L1 expiring 2027-06-30 (DD 00: the month's last day)", m.Batch)
	}
	wantLink := "https://id.gs1.org/01/04012345123456/10/L1/21/A%2F1%207?17=270600"
	if len(m.Identifier) != 1 || m.Identifier[0].System != "urn:ietf:rfc:3986" || m.Identifier[0].Value != wantLink {
		t.Fatalf("identifier %+v, want the Digital Link %s", m.Identifier, wantLink)
	}

	packs, err := DispensedPacks(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(packs) != 1 || packs[0].Code != code || packs[0].Medication != "Amoxicillin 500 mg capsules" || packs[0].Link != wantLink {
		t.Fatalf("read back %+v, want %+v", packs, code)
	}
}

// TestDispensedPacksTolerant: a dispense without a Digital Link (only a drug code) names
// no pack and is no error; a lot given only in batch.lotNumber is kept; other resources
// and non-JSON are refused by name.
func TestDispensedPacksTolerant(t *testing.T) {
	for name, rec := range map[string]string{
		"no contained":      `{"resourceType":"MedicationDispense","status":"completed","medicationCodeableConcept":{"text":"Paracetamol"}}`,
		"no identifier":     `{"resourceType":"MedicationDispense","status":"completed","contained":[{"resourceType":"Medication","id":"m","batch":{"lotNumber":"L1"}}]}`,
		"an NDC identifier": `{"resourceType":"MedicationDispense","status":"completed","contained":[{"resourceType":"Medication","id":"m","identifier":[{"system":"http://hl7.org/fhir/sid/ndc","value":"0002-8215-01"}]}]}`,
		"a bad link":        `{"resourceType":"MedicationDispense","status":"completed","contained":[{"resourceType":"Medication","identifier":[{"value":"https://id.gs1.org/01/04012345123457/21/1"}]}]}`,
		"not a Medication":  `{"resourceType":"MedicationDispense","status":"completed","contained":[{"resourceType":"Patient","identifier":[{"value":"https://id.gs1.org/01/04012345123456/21/1"}]}]}`,
	} {
		packs, err := DispensedPacks([]byte(rec))
		if err != nil || len(packs) != 0 {
			t.Errorf("%s: %+v, %v; want no pack and no error", name, packs, err)
		}
	}
	packs, err := DispensedPacks([]byte(`{"resourceType":"MedicationDispense","status":"completed","contained":[{"resourceType":"Medication","identifier":[{"value":"https://example.com/01/04012345123456/21/9"}],"batch":{"lotNumber":"L2"}}]}`))
	if err != nil || len(packs) != 1 || packs[0].Code.Lot != "L2" || packs[0].Code.Serial != "9" {
		t.Fatalf("a link on another resolver with the lot in batch: %+v, %v", packs, err)
	}
	for rec, want := range map[string]string{`{"resourceType":"Observation"}`: "Observation", `not json`: "not a FHIR resource"} {
		if _, err := DispensedPacks([]byte(rec)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", rec, err, want)
		}
	}
	now := time.Now()
	for what, d := range map[string]Dispensed{
		"without a serial":          {Code: supply.Code{GTIN: "04012345123456"}, Patient: "p", HandedOver: now},
		"with a wrong check digit":  {Code: supply.Code{GTIN: "04012345123457", Serial: "1"}, Patient: "p", HandedOver: now},
		"without a patient":         {Code: supply.Code{GTIN: "04012345123456", Serial: "1"}, HandedOver: now},
		"without a hand-over time":  {Code: supply.Code{GTIN: "04012345123456", Serial: "1", Expiry: "270600"}, Patient: "p"},
		"with an impossible expiry": {Code: supply.Code{GTIN: "04012345123456", Serial: "1", Expiry: "271332"}, Patient: "p", HandedOver: now},
	} {
		if _, err := DispenseRecord(d); err == nil {
			t.Errorf("a dispense %s was built", what)
		}
	}
}
