package trials

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"time"
)

// SystemRule names the transparency rules as codes of the report's Composition sections.
const SystemRule = "urn:ehrchain:trial-rule"

type fhirCoding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type fhirConcept struct {
	Coding []fhirCoding `json:"coding,omitempty"`
	Text   string       `json:"text,omitempty"`
}

type fhirNarrative struct {
	Status string `json:"status"`
	Div    string `json:"div"`
}

type fhirSection struct {
	Title string        `json:"title"`
	Code  fhirConcept   `json:"code"`
	Text  fhirNarrative `json:"text"`
}

type fhirRef struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

type fhirComposition struct {
	ResourceType string        `json:"resourceType"`
	Status       string        `json:"status"`
	Type         fhirConcept   `json:"type"`
	Subject      fhirRef       `json:"subject"`
	Date         string        `json:"date"`
	Author       []fhirRef     `json:"author"`
	Title        string        `json:"title"`
	Section      []fhirSection `json:"section"`
}

type fhirEntry struct {
	FullURL  string `json:"fullUrl"`
	Resource any    `json:"resource"`
}

type fhirBundle struct {
	ResourceType string      `json:"resourceType"`
	Type         string      `json:"type"`
	Timestamp    string      `json:"timestamp"`
	Entry        []fhirEntry `json:"entry"`
}

// urn is a stable urn:uuid for one of the report's resources.
func urn(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x50 // name-based UUID
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// FHIRBundle is the report as a FHIR R4 Bundle (type collection): the trial's
// ResearchStudy of the version in force (its content as registered) and a Composition
// whose sections are the findings, one per finding, coded by rule.
func FHIRBundle(r *Report) ([]byte, error) {
	study := urn("ResearchStudy", r.Trial)
	c := fhirComposition{ResourceType: "Composition", Status: "final",
		Type:    fhirConcept{Text: "Clinical trial transparency report"},
		Subject: fhirRef{Reference: study}, Date: r.BlockTime.UTC().Format(time.RFC3339),
		Author: []fhirRef{{Display: fmt.Sprintf("ehrchain ledger, state at height %d", r.Height)}},
		Title:  fmt.Sprintf("Transparency report: trial %s (%d violations)", r.Trial, r.Violations)}
	for _, f := range r.Findings {
		var ev []string
		for _, e := range f.Evidence {
			s := e.What + ": " + e.Key
			if e.Height != 0 {
				s += fmt.Sprintf(" at height %d, tx %s", e.Height, e.Tx)
			}
			ev = append(ev, "<li>"+html.EscapeString(s)+"</li>")
		}
		title := f.Rule + ": " + f.Status
		if f.Kind != "" {
			title += " (" + f.Kind + ")"
		}
		c.Section = append(c.Section, fhirSection{Title: title, Code: fhirConcept{Coding: []fhirCoding{{System: SystemRule, Code: f.Rule}}},
			Text: fhirNarrative{Status: "generated", Div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>` + html.EscapeString(f.Detail) + "</p><ul>" + strings.Join(ev, "") + "</ul></div>"}})
	}
	b := fhirBundle{ResourceType: "Bundle", Type: "collection", Timestamp: c.Date, Entry: []fhirEntry{
		{FullURL: study, Resource: json.RawMessage(r.ResearchStudy)},
		{FullURL: urn("Composition", r.Trial, fmt.Sprint(r.Height)), Resource: c}}}
	return json.MarshalIndent(b, "", "  ")
}
