package claims

import (
	"encoding/json"
	"fmt"
	"time"
)

// FHIR output types: the subset of R4 ClaimResponse and ExplanationOfBenefit the contract's
// decisions fill in.
type (
	// Money is a FHIR Money with an exact decimal value.
	Money struct {
		Value    json.Number `json:"value"`
		Currency string      `json:"currency"`
	}
	// Coding is a FHIR Coding.
	Coding struct {
		System  string `json:"system,omitempty"`
		Code    string `json:"code"`
		Display string `json:"display,omitempty"`
	}
	// Concept is a FHIR CodeableConcept.
	Concept struct {
		Coding []Coding `json:"coding,omitempty"`
		Text   string   `json:"text,omitempty"`
	}
	// Identifier is a FHIR Identifier.
	Identifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	// Reference is a FHIR Reference by identifier.
	Reference struct {
		Identifier *Identifier `json:"identifier,omitempty"`
		Display    string      `json:"display,omitempty"`
	}
	// Adjudication is one amount of a line's adjudication.
	Adjudication struct {
		Category Concept  `json:"category"`
		Reason   *Concept `json:"reason,omitempty"`
		Amount   *Money   `json:"amount,omitempty"`
	}
	// ResponseItem is a line of the response.
	ResponseItem struct {
		ItemSequence     int      `json:"itemSequence,omitempty"` // ClaimResponse
		Sequence         int      `json:"sequence,omitempty"`     // ExplanationOfBenefit
		ProductOrService *Concept `json:"productOrService,omitempty"`
		ServicedDate     string   `json:"servicedDate,omitempty"`
		Quantity         *struct {
			Value int64 `json:"value"`
		} `json:"quantity,omitempty"`
		Net          *Money         `json:"net,omitempty"`
		NoteNumber   []int          `json:"noteNumber,omitempty"`
		Adjudication []Adjudication `json:"adjudication"`
	}
	// Total is a claim-level total.
	Total struct {
		Category Concept `json:"category"`
		Amount   Money   `json:"amount"`
	}
	// Note is a process note (appeal outcomes).
	Note struct {
		Number int    `json:"number"`
		Type   string `json:"type"`
		Text   string `json:"text"`
	}
	// ClaimResponseResource is a FHIR R4 ClaimResponse or ExplanationOfBenefit.
	ClaimResponseResource struct {
		ResourceType   string       `json:"resourceType"`
		ID             string       `json:"id"`
		Identifier     []Identifier `json:"identifier,omitempty"`
		Status         string       `json:"status"`
		Type           Concept      `json:"type"`
		Use            string       `json:"use"`
		Patient        Reference    `json:"patient"`
		BillablePeriod *struct {
			Start string `json:"start"`
		} `json:"billablePeriod,omitempty"`
		Created     string         `json:"created"`
		Insurer     Reference      `json:"insurer"`
		Requestor   *Reference     `json:"requestor,omitempty"` // ClaimResponse
		Provider    *Reference     `json:"provider,omitempty"`  // ExplanationOfBenefit
		Request     *Reference     `json:"request,omitempty"`   // ClaimResponse
		Claim       *Reference     `json:"claim,omitempty"`     // ExplanationOfBenefit
		Outcome     string         `json:"outcome"`
		Disposition string         `json:"disposition,omitempty"`
		PreAuthRef  []string       `json:"preAuthRef,omitempty"`
		Insurance   []any          `json:"insurance,omitempty"`
		Item        []ResponseItem `json:"item"`
		Total       []Total        `json:"total"`
		Payment     *struct {
			Type   *Concept `json:"type,omitempty"`
			Date   string   `json:"date,omitempty"`
			Amount Money    `json:"amount"`
		} `json:"payment,omitempty"`
		ProcessNote []Note `json:"processNote,omitempty"`
	}
)

// Code systems of the output.
const (
	SystemIdentity     = "urn:ehrchain:identity"
	SystemClaim        = "urn:ehrchain:claim"
	systemAdjudication = "http://terminology.hl7.org/CodeSystem/adjudication"
	systemClaimType    = "http://terminology.hl7.org/CodeSystem/claim-type"
	systemPayType      = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
)

func cash(c int64) Money { return Money{Value: json.Number(FormatCents(c)), Currency: Currency} }
func pcash(c int64) *Money {
	m := cash(c)
	return &m
}
func who(id string) Reference {
	return Reference{Identifier: &Identifier{System: SystemIdentity, Value: id}}
}
func adjCat(code, display string) Concept {
	return Concept{Coding: []Coding{{System: systemAdjudication, Code: code, Display: display}}}
}

// coinsuranceCat is the Blue Button code Synthea also uses for the coinsurance amount (the
// base adjudication code system has none).
var coinsuranceCat = Concept{Coding: []Coding{{System: "https://bluebutton.cms.gov/resources/codesystem/adjudication",
	Code: bbVar + "line_coinsrnc_amt", Display: "Line Beneficiary Coinsurance Amount"}}}

func lineAdjudication(l *Line) []Adjudication {
	adj := []Adjudication{
		{Category: adjCat("submitted", "Submitted Amount"), Amount: pcash(l.Charge)},
		{Category: adjCat("eligible", "Eligible Amount"), Amount: pcash(l.Allowed)},
		{Category: adjCat("copay", "CoPay"), Amount: pcash(l.Copay)},
		{Category: coinsuranceCat, Amount: pcash(l.Coinsurance)},
		{Category: adjCat("benefit", "Benefit Amount"), Amount: pcash(l.Payer)},
	}
	for _, r := range l.Reasons {
		adj = append(adj, Adjudication{Category: Concept{Text: l.Outcome},
			Reason: &Concept{Coding: []Coding{{System: ReasonSystem, Code: r.Code, Display: r.Text}}, Text: r.Text}})
	}
	return adj
}

func (c *Claim) notes(items []ResponseItem) []Note {
	var notes []Note
	for i := range c.Lines {
		a := c.Lines[i].Appeal
		if a == nil {
			continue
		}
		text := fmt.Sprintf("line %d appealed: %s; %s", c.Lines[i].Seq, a.Reason, a.Status)
		if a.Note != "" {
			text += ": " + a.Note
		}
		notes = append(notes, Note{Number: len(notes) + 1, Type: "display", Text: text})
		items[i].NoteNumber = []int{len(notes)}
	}
	return notes
}

func (c *Claim) totalsFHIR() []Total {
	var allowed int64
	for _, l := range c.Lines {
		allowed += l.Allowed
	}
	return []Total{
		{Category: adjCat("submitted", "Submitted Amount"), Amount: cash(c.Submitted)},
		{Category: adjCat("eligible", "Eligible Amount"), Amount: cash(allowed)},
		{Category: adjCat("benefit", "Benefit Amount"), Amount: cash(c.Payable)},
	}
}

func (c *Claim) disposition() string {
	a, p, d := summary(c.results())
	return fmt.Sprintf("%d lines approved, %d partly approved, %d denied; status %s", a, p, d, c.Status)
}

func (c *Claim) results() []Result {
	out := make([]Result, len(c.Lines))
	for i := range c.Lines {
		out[i] = c.Lines[i].Result
	}
	return out
}

func (c *Claim) payment() *struct {
	Type   *Concept `json:"type,omitempty"`
	Date   string   `json:"date,omitempty"`
	Amount Money    `json:"amount"`
} {
	p := &struct {
		Type   *Concept `json:"type,omitempty"`
		Date   string   `json:"date,omitempty"`
		Amount Money    `json:"amount"`
	}{Amount: cash(c.Paid)}
	code := "partial"
	if c.Paid >= c.Payable {
		code = "complete"
	}
	p.Type = &Concept{Coding: []Coding{{System: systemPayType, Code: code}}}
	if n := len(c.Payments); n > 0 {
		p.Date = c.Payments[n-1].Time.UTC().Format(time.DateOnly)
	}
	return p
}

// ClaimResponse renders the adjudication as a FHIR R4 ClaimResponse.
func (c *Claim) ClaimResponse() *ClaimResponseResource {
	r := &ClaimResponseResource{ResourceType: "ClaimResponse", ID: c.ID, Status: "active",
		Identifier: []Identifier{{System: SystemClaim, Value: c.ID}},
		Type:       Concept{Coding: []Coding{{System: systemClaimType, Code: c.claimType()}}}, Use: "claim",
		Patient: who(c.Patient), Created: c.Time.UTC().Format(time.RFC3339), Insurer: who(c.Insurer),
		Requestor: ptr(who(c.Provider)), Request: &Reference{Identifier: &Identifier{System: SystemClaim, Value: c.ID}},
		Outcome: "complete", Disposition: c.disposition(), Total: c.totalsFHIR(), Payment: c.payment()}
	for i := range c.Lines {
		r.Item = append(r.Item, ResponseItem{ItemSequence: c.Lines[i].Seq, Adjudication: lineAdjudication(&c.Lines[i])})
		if pa := c.Lines[i].PriorAuth; pa != "" {
			r.PreAuthRef = append(r.PreAuthRef, pa)
		}
	}
	r.ProcessNote = c.notes(r.Item)
	return r
}

// ExplanationOfBenefit renders the claim and its adjudication as a FHIR R4
// ExplanationOfBenefit, the form the patient sees.
func (c *Claim) ExplanationOfBenefit() *ClaimResponseResource {
	r := &ClaimResponseResource{ResourceType: "ExplanationOfBenefit", ID: c.ID, Status: "active",
		Identifier: []Identifier{{System: SystemClaim, Value: c.ID}},
		Type:       Concept{Coding: []Coding{{System: systemClaimType, Code: c.claimType()}}}, Use: "claim",
		Patient: who(c.Patient), Created: c.Time.UTC().Format(time.RFC3339), Insurer: who(c.Insurer),
		Provider: ptr(who(c.Provider)), Claim: &Reference{Identifier: &Identifier{System: SystemClaim, Value: c.ID}},
		Outcome: "complete", Disposition: c.disposition(), Total: c.totalsFHIR(), Payment: c.payment(),
		BillablePeriod: &struct {
			Start string `json:"start"`
		}{string(c.ServiceDate)}}
	if c.Plan != "" {
		r.Insurance = []any{map[string]any{"focal": true, "coverage": map[string]any{
			"display": fmt.Sprintf("plan %s version %d, member %s", c.Plan, c.PlanVersion, c.MemberID)}}}
	}
	for i := range c.Lines {
		l := &c.Lines[i]
		r.Item = append(r.Item, ResponseItem{Sequence: l.Seq, ServicedDate: string(c.ServiceDate),
			ProductOrService: &Concept{Coding: []Coding{{System: l.System, Code: l.Code, Display: l.Display}}},
			Quantity: &struct {
				Value int64 `json:"value"`
			}{l.Quantity},
			Net: pcash(l.Charge), Adjudication: lineAdjudication(l)})
		if l.PriorAuth != "" {
			r.PreAuthRef = append(r.PreAuthRef, l.PriorAuth)
		}
	}
	r.ProcessNote = c.notes(r.Item)
	return r
}

func ptr[T any](v T) *T { return &v }

func (c *Claim) claimType() string {
	if c.Type == "" {
		return "institutional"
	}
	return c.Type
}
