package fhir

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// ContentType of every record the gateway and the importer write.
const ContentType = "application/fhir+json"

// Supported are the resource types stored as records: those of the Synthea bundles, and
// DocumentReference with its attachments. Consent and AuditEvent are views of grants and
// audit events, not records.
var Supported = []string{"AllergyIntolerance", "CarePlan", "Claim", "Condition", "DiagnosticReport",
	"DocumentReference", "Encounter", "ExplanationOfBenefit", "Goal", "ImagingStudy", "Immunization",
	"MedicationRequest", "Observation", "Organization", "Patient", "Practitioner", "Procedure"}

// IsSupported reports whether rt is stored as records.
func IsSupported(rt string) bool { return slices.Contains(Supported, rt) }

// ImportID is the stable record id of a resource imported from a source system: the same
// source resource for the same patient always gets the same id, so a second import finds
// it and skips it.
func ImportID(patient, rt, sourceID string) string {
	h := sha256.Sum256([]byte("ehrchain/fhir-import/v1\x00" + patient + "\x00" + rt + "\x00" + sourceID))
	return hex.EncodeToString(h[:16])
}

// Entry is one resource of a Bundle, with its assigned id.
type Entry struct {
	FullURL  string
	Resource Object
	Type     string
	SourceID string
	ID       string // record id on the ledger
	Method   string // POST, PUT (transaction) or "" (collection)
	URL      string // request.url
	Category string // consent category, from the sensitivity policy
	// IfMatch and IfNoneExist are the conditions of the request (header or
	// Bundle.entry.request): the version the writer read, a query that must match nothing.
	IfMatch     string
	IfNoneExist string
	existing    *hit // the match of IfNoneExist: nothing is written
}

// PatientEntry returns the Bundle's single Patient, the subject of every record in it.
func PatientEntry(es []*Entry) (*Entry, error) {
	var p *Entry
	for _, e := range es {
		if e.Type == "Patient" {
			if p != nil {
				return nil, fmt.Errorf("the bundle holds more than one Patient (%s and %s)", p.FullURL, e.FullURL)
			}
			p = e
		}
	}
	if p == nil {
		return nil, fmt.Errorf("the bundle holds no Patient")
	}
	return p, nil
}

// BundleEntries lists a validated Bundle's entries.
func BundleEntries(b Object) ([]*Entry, error) {
	if b["resourceType"] != "Bundle" {
		return nil, fmt.Errorf("not a Bundle but %v", b["resourceType"])
	}
	raw, _ := b["entry"].([]any)
	out := make([]*Entry, 0, len(raw))
	for i, x := range raw {
		eo, _ := x.(Object)
		r, _ := eo["resource"].(Object)
		if r == nil {
			return nil, fmt.Errorf("Bundle.entry[%d] has no resource", i)
		}
		e := &Entry{Resource: r, Type: r["resourceType"].(string)}
		e.FullURL, _ = eo["fullUrl"].(string)
		e.SourceID, _ = r["id"].(string)
		if e.SourceID == "" {
			e.SourceID = strings.TrimPrefix(e.FullURL, "urn:uuid:")
		}
		if req, ok := eo["request"].(Object); ok {
			e.Method, _ = req["method"].(string)
			e.URL, _ = req["url"].(string)
			e.IfMatch, _ = req["ifMatch"].(string)
			e.IfNoneExist, _ = req["ifNoneExist"].(string)
		}
		if !IsSupported(e.Type) {
			return nil, fmt.Errorf("Bundle.entry[%d]: resource type %s is not supported (supported: %s)", i, e.Type, strings.Join(Supported, ", "))
		}
		out = append(out, e)
	}
	return out, nil
}

// ResolveReferences rewrites every Reference.reference that names a Bundle entry (by
// fullUrl, or by Type/source id) to the entry's new Type/id.
func ResolveReferences(v any, refs map[string]string) {
	switch x := v.(type) {
	case Object:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "reference" {
				if to, ok := refs[s]; ok {
					x[k] = to
				}
				continue
			}
			ResolveReferences(val, refs)
		}
	case []any:
		for _, it := range x {
			ResolveReferences(it, refs)
		}
	}
}

// RefMap maps each entry's fullUrl and Type/source id to Type/new id.
func RefMap(es []*Entry) map[string]string {
	m := make(map[string]string, 2*len(es))
	for _, e := range es {
		to := e.Type + "/" + e.ID
		if e.FullURL != "" {
			m[e.FullURL] = to
		}
		if e.SourceID != "" {
			m[e.Type+"/"+e.SourceID] = to
		}
	}
	return m
}

// Stored is the plaintext of a record: the resource with its ledger id, without the
// version and time, which the ledger assigns (they are put back on every read).
func Stored(r Object, id string) ([]byte, error) {
	r["id"] = id
	if m, ok := r["meta"].(Object); ok {
		delete(m, "versionId")
		delete(m, "lastUpdated")
		if len(m) == 0 {
			delete(r, "meta")
		}
	}
	return Marshal(r)
}
