package trials

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// researchStudyStatus are the R4 ResearchStudy.status codes (required, 1..1).
var researchStudyStatus = map[string]bool{
	"active": true, "administratively-completed": true, "approved": true, "closed-to-accrual": true,
	"closed-to-accrual-and-intervention": true, "completed": true, "disapproved": true, "in-review": true,
	"temporarily-closed-to-accrual": true, "temporarily-closed-to-accrual-and-intervention": true, "withdrawn": true,
}

// validateStudy checks the minimal shape of a FHIR R4 ResearchStudy: one JSON object with
// resourceType "ResearchStudy" and a valid status. The full validator (internal/fhir) cannot
// be imported here: it depends on the application, which depends on this package. The
// document is stored byte for byte as given, so nothing in it is lost or rewritten.
func validateStudy(raw []byte) error {
	if len(raw) == 0 {
		return fmt.Errorf("missing: a registration carries its FHIR R4 ResearchStudy")
	}
	if len(raw) > maxStudy {
		return fmt.Errorf("%d bytes, over the %d-byte limit", len(raw), maxStudy)
	}
	if !json.Valid(raw) {
		return fmt.Errorf("not valid JSON")
	}
	var head struct {
		ResourceType *string `json:"resourceType"`
		Status       *string `json:"status"`
		ID           any     `json:"id"`
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&head); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	switch {
	case head.ResourceType == nil:
		return fmt.Errorf("no resourceType")
	case *head.ResourceType != "ResearchStudy":
		return fmt.Errorf("resourceType is %q, want ResearchStudy", *head.ResourceType)
	case head.Status == nil:
		return fmt.Errorf("no status (ResearchStudy.status is required)")
	case !researchStudyStatus[*head.Status]:
		return fmt.Errorf("status %q is not an R4 ResearchStudy status", *head.Status)
	}
	if head.ID != nil {
		if _, ok := head.ID.(string); !ok {
			return fmt.Errorf("id is not a string")
		}
	}
	return nil
}

// studyTitle is a ResearchStudy's title, or "" (the contract checked the shape only).
func studyTitle(raw []byte) string {
	var s struct {
		Title string `json:"title"`
	}
	_ = json.Unmarshal(raw, &s)
	return s.Title
}
