package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ehrchain/ehrchain/internal/supply"
)

// DispenseResourceType is the FHIR resource a pharmacy writes into the patient's chart
// for each pack it hands over: the chart, not the ledger, is where the pack meets the
// patient, so only the patient (and whom they grant) can link the two.
const DispenseResourceType = "MedicationDispense"

// uriSystem is FHIR's identifier system for an identifier that is itself a URI (RFC 3986):
// the GS1 Digital Link names the pack on its own.
const uriSystem = "urn:ietf:rfc:3986"

// Dispensed is what the pharmacy knows of a pack as it hands it over.
type Dispensed struct {
	Code       supply.Code // GTIN, serial, lot, expiry as scanned from the pack
	Medication string      // what the patient reads, e.g. "Amoxicillin 500 mg capsules"
	Patient    string      // the patient's identity id
	Pharmacy   string      // the dispensing organization's name
	HandedOver time.Time
}

// DigitalLink is the GS1 Digital Link URI of a code: the primary key (01) and its
// qualifiers in GS1's order (10 lot, 21 serial) in the path, the expiry (17) as a query
// attribute. supply.ParseCode reads it back.
func DigitalLink(c supply.Code) string {
	s := "https://id.gs1.org/01/" + c.GTIN
	if c.Lot != "" {
		s += "/10/" + url.PathEscape(c.Lot)
	}
	s += "/21/" + url.PathEscape(c.Serial)
	if c.Expiry != "" {
		s += "?17=" + c.Expiry
	}
	return s
}

type fhirIdentifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

type fhirBatch struct {
	LotNumber      string `json:"lotNumber,omitempty"`
	ExpirationDate string `json:"expirationDate,omitempty"`
}

type fhirMedication struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id,omitempty"`
	Identifier   []fhirIdentifier `json:"identifier,omitempty"`
	Code         *struct {
		Text string `json:"text,omitempty"`
	} `json:"code,omitempty"`
	Batch *fhirBatch `json:"batch,omitempty"`
}

type fhirReference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

type fhirDispense struct {
	ResourceType        string            `json:"resourceType"`
	Contained           []json.RawMessage `json:"contained,omitempty"`
	Status              string            `json:"status"`
	MedicationReference *fhirReference    `json:"medicationReference,omitempty"`
	Subject             *fhirReference    `json:"subject,omitempty"`
	Performer           []struct {
		Actor fhirReference `json:"actor"`
	} `json:"performer,omitempty"`
	Quantity *struct {
		Value float64 `json:"value"`
		Unit  string  `json:"unit,omitempty"`
	} `json:"quantity,omitempty"`
	WhenHandedOver string `json:"whenHandedOver,omitempty"`
}

// DispenseRecord builds the FHIR R4 MedicationDispense (status completed) for one pack:
// a contained Medication carries the pack's Digital Link as its identifier (GTIN, serial,
// lot and expiry in one URI) and its lot and expiry as batch.lotNumber and
// batch.expirationDate; the dispense refers to it as #pack.
func DispenseRecord(d Dispensed) ([]byte, error) {
	if d.Code.GTIN == "" || d.Code.Serial == "" {
		return nil, errors.New("a dispensed pack needs its GTIN and serial number")
	}
	if _, err := supply.ParseCode(DigitalLink(d.Code)); err != nil {
		return nil, fmt.Errorf("the pack's code: %w", err)
	}
	if d.Patient == "" {
		return nil, errors.New("a dispense names its patient")
	}
	if d.HandedOver.IsZero() {
		// It is also the reference for the century of the pack's YYMMDD expiry.
		return nil, errors.New("a dispense needs the time the pack was handed over")
	}
	med := fhirMedication{ResourceType: "Medication", ID: "pack",
		Identifier: []fhirIdentifier{{System: uriSystem, Value: DigitalLink(d.Code)}}}
	if d.Medication != "" {
		med.Code = &struct {
			Text string `json:"text,omitempty"`
		}{d.Medication}
	}
	if d.Code.Lot != "" || d.Code.Expiry != "" {
		med.Batch = &fhirBatch{LotNumber: d.Code.Lot, ExpirationDate: d.Code.ExpiryDate(d.HandedOver)}
	}
	mb, err := json.Marshal(med)
	if err != nil {
		return nil, err
	}
	r := fhirDispense{ResourceType: DispenseResourceType, Contained: []json.RawMessage{mb}, Status: "completed",
		MedicationReference: &fhirReference{Reference: "#pack", Display: d.Medication},
		Subject:             &fhirReference{Reference: "Patient/" + d.Patient}}
	if d.Pharmacy != "" {
		r.Performer = append(r.Performer, struct {
			Actor fhirReference `json:"actor"`
		}{fhirReference{Display: d.Pharmacy}})
	}
	r.Quantity = &struct {
		Value float64 `json:"value"`
		Unit  string  `json:"unit,omitempty"`
	}{1, "pack"}
	r.WhenHandedOver = d.HandedOver.UTC().Format(time.RFC3339)
	return json.Marshal(r)
}

// DispensedPack is one pack a MedicationDispense names.
type DispensedPack struct {
	Link       string      `json:"link"` // the Digital Link as written in the record
	Code       supply.Code `json:"code"`
	Medication string      `json:"medication,omitempty"`
	HandedOver string      `json:"handed_over,omitempty"`
}

// DispensedPacks reads back the packs a MedicationDispense names: each contained
// Medication identifier whose value is a GS1 Digital Link of a serialised pack. A
// dispense written without one (a pharmacy that records only the drug's code) has none
// and is no error: it cannot be matched against recalls, and the patient's client says
// nothing about it. A lot missing from the link is taken from batch.lotNumber.
func DispensedPacks(resource []byte) ([]DispensedPack, error) {
	var r fhirDispense
	if err := json.Unmarshal(resource, &r); err != nil {
		return nil, fmt.Errorf("not a FHIR resource: %w", err)
	}
	if r.ResourceType != DispenseResourceType {
		return nil, fmt.Errorf("a %s, not a %s", r.ResourceType, DispenseResourceType)
	}
	name := ""
	if r.MedicationReference != nil {
		name = r.MedicationReference.Display
	}
	var out []DispensedPack
	for _, raw := range r.Contained {
		var m fhirMedication
		if json.Unmarshal(raw, &m) != nil || m.ResourceType != "Medication" {
			continue
		}
		medName := name
		if m.Code != nil && m.Code.Text != "" {
			medName = m.Code.Text
		}
		for _, id := range m.Identifier {
			if !strings.Contains(id.Value, "://") {
				continue
			}
			c, err := supply.ParseCode(id.Value)
			if err != nil {
				continue
			}
			if c.Lot == "" && m.Batch != nil {
				c.Lot = m.Batch.LotNumber
			}
			out = append(out, DispensedPack{Link: id.Value, Code: c, Medication: medName, HandedOver: r.WhenHandedOver})
		}
	}
	return out, nil
}
