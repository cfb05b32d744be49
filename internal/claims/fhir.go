package claims

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Currency of every amount: plans, charges and payments are in one currency, US dollars as
// in the Synthea data.
const Currency = "USD"

// FHIR input: the parts of an R4 Claim (as Synthea writes it) that a claim needs.
type fhirMoney struct {
	Value    json.RawMessage `json:"value"` // a JSON number, checked by money
	Currency string          `json:"currency"`
}

type fhirCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type fhirConcept struct {
	Coding []fhirCoding `json:"coding"`
	Text   string       `json:"text,omitempty"`
}

type fhirRef struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

type fhirClaimItem struct {
	Sequence         int         `json:"sequence"`
	ProductOrService fhirConcept `json:"productOrService"`
	Quantity         *struct {
		Value json.Number `json:"value"`
	} `json:"quantity"`
	Net          *fhirMoney `json:"net"`
	Encounter    []fhirRef  `json:"encounter"`
	Adjudication []struct {
		Category fhirConcept `json:"category"`
		Amount   *fhirMoney  `json:"amount"`
	} `json:"adjudication"`
}

type fhirClaim struct {
	ResourceType   string      `json:"resourceType"`
	ID             string      `json:"id"`
	Type           fhirConcept `json:"type"`
	BillablePeriod struct {
		Start string `json:"start"`
	} `json:"billablePeriod"`
	Insurance []struct {
		PreAuthRef []string `json:"preAuthRef"`
		Coverage   fhirRef  `json:"coverage"`
	} `json:"insurance"`
	Item    []fhirClaimItem `json:"item"`
	Total   json.RawMessage `json:"total"` // Claim: Money; ExplanationOfBenefit: list of totals
	Claim   fhirRef         `json:"claim"`
	Payment struct {
		Amount *fhirMoney `json:"amount"`
	} `json:"payment"`
}

// FHIRClaim is a FHIR R4 Claim turned into claim lines.
type FHIRClaim struct {
	ID          string
	Type        string // institutional, pharmacy, professional, ...
	ServiceDate Date
	Lines       []LineInput
	PriorAuths  []string
	Total       int64    // Claim.total, cents
	Encounters  []string // encounter references of the items
	Coverage    string   // insurance coverage display (Synthea: private, medicare, ...)
}

func decodeFHIR(raw []byte, want string) (*fhirClaim, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var c fhirClaim
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("not FHIR JSON: %w", err)
	}
	if c.ResourceType != want {
		return nil, fmt.Errorf("resourceType is %q, want %s", c.ResourceType, want)
	}
	return &c, nil
}

func money(m *fhirMoney, what string) (int64, error) {
	if m == nil || len(m.Value) == 0 {
		return 0, nil
	}
	if m.Currency != "" && m.Currency != Currency {
		return 0, fmt.Errorf("%s is in %s; only %s is supported", what, m.Currency, Currency)
	}
	if m.Value[0] < '0' || m.Value[0] > '9' {
		return 0, fmt.Errorf("%s value %s is not a non-negative JSON number", what, m.Value)
	}
	return ParseCents(string(m.Value))
}

// ParseFHIRClaim reads a FHIR R4 Claim. Each item with a coded productOrService and a net
// amount becomes a line. Synthea bills the encounter itself on an item without a net (its
// cost is in Claim.total only), so the first such item that references an encounter is
// charged Claim.total minus the other items' nets; other items without a net (diagnoses,
// findings) carry no charge and are left out.
func ParseFHIRClaim(raw []byte) (*FHIRClaim, error) {
	c, err := decodeFHIR(raw, "Claim")
	if err != nil {
		return nil, err
	}
	out := &FHIRClaim{ID: c.ID}
	if len(c.Type.Coding) > 0 {
		out.Type = c.Type.Coding[0].Code
	}
	start, err := time.Parse(time.RFC3339, c.BillablePeriod.Start)
	if err != nil {
		if d, derr := ParseDate(c.BillablePeriod.Start); derr == nil {
			out.ServiceDate = d
		} else {
			return nil, fmt.Errorf("Claim.billablePeriod.start %q is not a date", c.BillablePeriod.Start)
		}
	} else {
		out.ServiceDate = DateOf(start)
	}
	for _, in := range c.Insurance {
		out.PriorAuths = append(out.PriorAuths, in.PreAuthRef...)
		if out.Coverage == "" {
			out.Coverage = in.Coverage.Display
		}
	}
	if len(c.Total) > 0 && string(c.Total) != "null" {
		var t fhirMoney
		dec := json.NewDecoder(bytes.NewReader(c.Total))
		dec.UseNumber()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("Claim.total: %w", err)
		}
		if out.Total, err = money(&t, "Claim.total"); err != nil {
			return nil, err
		}
	}
	var nets int64
	encLine := -1
	for _, it := range c.Item {
		if len(it.ProductOrService.Coding) == 0 {
			return nil, fmt.Errorf("Claim.item %d has no productOrService coding", it.Sequence)
		}
		for _, e := range it.Encounter {
			out.Encounters = append(out.Encounters, e.Reference)
		}
		cd := it.ProductOrService.Coding[0]
		l := LineInput{Seq: it.Sequence, System: cd.System, Code: cd.Code, Display: cd.Display, Quantity: 1}
		if l.Display == "" {
			l.Display = it.ProductOrService.Text
		}
		if it.Quantity != nil && it.Quantity.Value != "" {
			q, err := it.Quantity.Value.Int64()
			if err != nil || q < 1 {
				return nil, fmt.Errorf("Claim.item %d quantity %q is not a positive whole number", it.Sequence, it.Quantity.Value)
			}
			l.Quantity = q
		}
		if it.Net != nil {
			if l.Charge, err = money(it.Net, fmt.Sprintf("Claim.item %d net", it.Sequence)); err != nil {
				return nil, err
			}
			nets += l.Charge
		} else if len(it.Encounter) > 0 && encLine < 0 {
			encLine = len(out.Lines)
		} else {
			continue
		}
		out.Lines = append(out.Lines, l)
	}
	if encLine >= 0 {
		out.Lines[encLine].Charge = out.Total - nets
		if out.Lines[encLine].Charge <= 0 {
			out.Lines = append(out.Lines[:encLine], out.Lines[encLine+1:]...)
		}
	}
	if len(out.Lines) == 0 {
		return nil, fmt.Errorf("Claim %s has no billable item", c.ID)
	}
	return out, nil
}

// EOBLine is what an ExplanationOfBenefit says about one item, in cents.
type EOBLine struct {
	Seq         int
	Code        string
	Submitted   int64
	Allowed     int64
	Coinsurance int64
	Payment     int64
	Deductible  int64
	Adjudicated bool // the item carries adjudication amounts
}

// EOB is the totals and lines of a FHIR R4 ExplanationOfBenefit.
type EOB struct {
	ID        string
	Claim     string // id of the Claim it explains
	Coverage  string
	Submitted int64 // total "submitted"
	Payment   int64 // payment.amount
	Lines     []EOBLine
}

// Blue Button adjudication codes Synthea writes on ExplanationOfBenefit items.
const bbVar = "https://bluebutton.cms.gov/resources/variables/"

// ParseEOB reads a FHIR R4 ExplanationOfBenefit (as Synthea writes it).
func ParseEOB(raw []byte) (*EOB, error) {
	c, err := decodeFHIR(raw, "ExplanationOfBenefit")
	if err != nil {
		return nil, err
	}
	e := &EOB{ID: c.ID, Claim: c.Claim.Reference}
	if i := strings.LastIndexAny(e.Claim, ":/"); i >= 0 {
		e.Claim = e.Claim[i+1:]
	}
	if len(c.Insurance) > 0 {
		e.Coverage = c.Insurance[0].Coverage.Display
	}
	if e.Payment, err = money(c.Payment.Amount, "payment"); err != nil {
		return nil, err
	}
	var totals []struct {
		Category fhirConcept `json:"category"`
		Amount   *fhirMoney  `json:"amount"`
	}
	if len(c.Total) > 0 {
		dec := json.NewDecoder(bytes.NewReader(c.Total))
		dec.UseNumber()
		if err := dec.Decode(&totals); err != nil {
			return nil, fmt.Errorf("ExplanationOfBenefit.total: %w", err)
		}
	}
	for _, t := range totals {
		if len(t.Category.Coding) > 0 && t.Category.Coding[0].Code == "submitted" {
			if e.Submitted, err = money(t.Amount, "total"); err != nil {
				return nil, err
			}
		}
	}
	for _, it := range c.Item {
		l := EOBLine{Seq: it.Sequence}
		if len(it.ProductOrService.Coding) > 0 {
			l.Code = it.ProductOrService.Coding[0].Code
		}
		for _, a := range it.Adjudication {
			if len(a.Category.Coding) == 0 {
				continue
			}
			v, err := money(a.Amount, "adjudication")
			if err != nil {
				return nil, err
			}
			switch a.Category.Coding[0].Code {
			case bbVar + "line_sbmtd_chrg_amt":
				l.Submitted, l.Adjudicated = v, true
			case bbVar + "line_alowd_chrg_amt":
				l.Allowed = v
			case bbVar + "line_coinsrnc_amt":
				l.Coinsurance = v
			case bbVar + "line_prvdr_pmt_amt":
				l.Payment = v
			case bbVar + "line_bene_ptb_ddctbl_amt":
				l.Deductible = v
			}
		}
		e.Lines = append(e.Lines, l)
	}
	return e, nil
}

// BundleClaims returns the Claim and ExplanationOfBenefit resources of a FHIR Bundle (such
// as a Synthea patient), each as raw JSON, in bundle order.
func BundleClaims(raw []byte) (claims, eobs []json.RawMessage, err error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, nil, fmt.Errorf("not FHIR JSON: %w", err)
	}
	if b.ResourceType != "Bundle" {
		return nil, nil, fmt.Errorf("resourceType is %q, want Bundle", b.ResourceType)
	}
	for _, e := range b.Entry {
		var h struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(e.Resource, &h) != nil {
			continue
		}
		switch h.ResourceType {
		case "Claim":
			claims = append(claims, e.Resource)
		case "ExplanationOfBenefit":
			eobs = append(eobs, e.Resource)
		}
	}
	return claims, eobs, nil
}

// Submission builds the claim a provider submits for this FHIR Claim.
func (f *FHIRClaim) Submission(patient, insurer string, enc EncounterRef) SubmitBody {
	return SubmitBody{Patient: patient, Insurer: insurer, Encounter: enc, ServiceDate: f.ServiceDate,
		PriorAuths: f.PriorAuths, Lines: f.Lines, Source: f.ID, ClaimType: f.Type}
}

// FindFHIRClaim reads a FHIR Claim from raw: the resource itself, or the Claim with id in a
// Bundle (such as a Synthea patient).
func FindFHIRClaim(raw []byte, id string) (*FHIRClaim, error) {
	var h struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("not FHIR JSON: %w", err)
	}
	if h.ResourceType != "Bundle" {
		return ParseFHIRClaim(raw)
	}
	cs, _, err := BundleClaims(raw)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		var ch struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(c, &ch) == nil && ch.ID == id {
			return ParseFHIRClaim(c)
		}
	}
	return nil, fmt.Errorf("the bundle holds no Claim with id %q (it has %d claims)", id, len(cs))
}
