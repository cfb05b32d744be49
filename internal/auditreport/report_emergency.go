package auditreport

import (
	"slices"
	"time"

	"github.com/ehrchain/ehrchain/internal/audit"
)

// EmergencyAccess is one break-glass declaration as the auditor reviews it: who declared
// it for whom and why, what it released and what was read or written under it, the
// provider's justification and the auditor's verdict.
type EmergencyAccess struct {
	Declaration   string     `json:"declaration"`
	Event         uint64     `json:"event"`
	Time          time.Time  `json:"time"`
	Provider      string     `json:"provider"`
	ProviderName  string     `json:"provider_name,omitempty"`
	Organization  string     `json:"organization,omitempty"`
	Patient       string     `json:"patient"`
	PatientName   string     `json:"patient_name,omitempty"`
	Reason        string     `json:"reason"`
	Categories    string     `json:"categories"`
	Releases      int        `json:"releases"`   // custodian shares released
	Custodians    []string   `json:"custodians"` // institutions that released
	Reads         int        `json:"reads"`      // break-glass reads allowed under it
	Writes        int        `json:"writes"`     // urgent writes under it
	Justification string     `json:"justification,omitempty"`
	JustifiedAt   *time.Time `json:"justified_at,omitempty"`
	Verdict       string     `json:"verdict,omitempty"`
	Reviewer      string     `json:"reviewer,omitempty"`
	ReviewedAt    *time.Time `json:"reviewed_at,omitempty"`
	Status        string     `json:"status"` // awaiting justification, awaiting review, reviewed
}

// Review states of an emergency access.
const (
	AwaitingJustification = "awaiting justification"
	AwaitingReview        = "awaiting review"
	Reviewed              = "reviewed"
)

// EmergencyAccesses lists every emergency declaration among events, oldest first, with
// what followed it; and every break-glass attempt that was denied (an emergency-purpose
// read no declaration allowed).
func EmergencyAccesses(events []*audit.Event, names map[string]string) ([]EmergencyAccess, []*audit.Event) {
	out := []EmergencyAccess{}
	denied := []*audit.Event{}
	at := map[string]int{}
	for _, e := range inLogOrder(events) {
		if e.Action == audit.EmergencyDeclare && e.Outcome == audit.Success {
			at[e.Emergency] = len(out)
			out = append(out, EmergencyAccess{Declaration: e.Emergency, Event: e.Index, Time: e.Time.UTC(), Provider: e.Actor,
				ProviderName: names[e.Actor], Organization: e.Organization, Patient: e.Patient, PatientName: names[e.Patient],
				Reason: e.Reason, Categories: e.Category, Custodians: []string{}, Status: AwaitingJustification})
			continue
		}
		if (e.Action == audit.RecordRead || e.Action == audit.RecordList) && e.Purpose == "emergency" && e.Outcome == audit.Denied {
			denied = append(denied, e)
			continue
		}
		i, ok := at[e.Emergency]
		if e.Emergency == "" || !ok || e.Outcome != audit.Success {
			continue
		}
		a := &out[i]
		t := e.Time.UTC()
		switch e.Action {
		case audit.EmergencyRelease:
			a.Releases++
			if !slices.Contains(a.Custodians, e.Organization) {
				a.Custodians = append(a.Custodians, e.Organization)
			}
		case audit.RecordRead, audit.RecordList:
			a.Reads++
		case audit.RecordWrite, audit.RecordAmend:
			a.Writes++
		case audit.EmergencyJustify:
			a.Justification, a.JustifiedAt, a.Status = e.Reason, &t, AwaitingReview
		case audit.EmergencyReview:
			a.Verdict, a.Reviewer, a.ReviewedAt, a.Status = e.Reason, e.Actor, &t, Reviewed
		}
	}
	return out, denied
}
